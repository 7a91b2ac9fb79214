// The house style, checked: Biome (formatter and linter, biome.json) on the TypeScript and JavaScript, and
// clang-format (.clang-format) on cpp/. A failure names each file that differs and the rule it breaks; fix with
// `npm run format` (then look at what the linter still reports). Skips, saying why, only where a tool is absent.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const biome = `${root}/node_modules/.bin/biome`;

interface Run {
  code: number;
  out: string;
}

function run(command: string, args: string[]): Promise<Run | undefined> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return resolve(undefined);
      resolve({ code: typeof err?.code === 'number' ? err.code : err ? 1 : 0, out: `${stdout}${stderr}` });
    });
  });
}

/** `what` of each finding, per file: "lib/x.ts: format, lint/suspicious/noDebugger". */
function byFile(findings: Array<[file: string, what: string]>): string[] {
  const files = new Map<string, Set<string>>();
  for (const [file, what] of findings) (files.get(file) ?? files.set(file, new Set()).get(file)!).add(what);
  return [...files].sort(([a], [b]) => a.localeCompare(b)).map(([file, what]) => `${file}: ${[...what].join(', ')}`);
}

t.test('Biome: the TypeScript is formatted and lint-free (biome ci --error-on-warnings)', async (t) => {
  const result = existsSync(biome)
    ? await run(biome, ['ci', '--error-on-warnings', '--colors=off', '--max-diagnostics=none'])
    : undefined;
  if (!result) return t.skip('@biomejs/biome is not installed (npm ci installs it)');
  // Each diagnostic starts with "<file>[:line:col] <category> ━━━".
  const findings = [...result.out.matchAll(/^(\S+?)(?::\d+:\d+)? ((?:format|lint\/\S+|assist\/\S+|parse\S*))\b.*━/gm)].map(
    (m): [string, string] => [m[1]!, m[2]!],
  );
  t.same(byFile(findings), [], 'no file differs from `npm run format` and no lint rule is broken');
  t.equal(result.code, 0, findings.length > 0 ? 'biome ci fails' : result.out.slice(-2000));
});

t.test('clang-format: cpp/ is formatted (clang-format --dry-run --Werror)', async (t) => {
  const sources = readdirSync(`${root}/cpp`)
    .filter((f) => /\.(cc|h)$/.test(f))
    .map((f) => `cpp/${f}`);
  const result = await run('clang-format', ['--dry-run', '--Werror', ...sources]);
  if (!result) return t.skip('clang-format is not installed (apt-get install clang-format; .ci/run installs it)');
  const findings = [...result.out.matchAll(/^(cpp\/[^:\s]+):\d+:\d+: error: (.*?) \[/gm)].map((m): [string, string] => [
    m[1]!,
    m[2]!,
  ]);
  t.same(byFile(findings), [], 'every file in cpp/ is as clang-format writes it');
  t.equal(result.code, 0, findings.length > 0 ? 'clang-format --dry-run --Werror fails' : result.out.slice(-2000));
});
