// The published declarations (dist/index.d.ts, built by `npm test`'s tsc step) type-check the uses in
// test/fixtures/types/public-api.ts and reject the misuses marked `@ts-expect-error` there; and the README's
// "API" section lists exactly the names dist/index.d.ts exports (values and types), so the curated surface
// and its documentation cannot drift apart.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
const dts = `${root}/dist/index.d.ts`;
const skip = existsSync(dts) ? false : 'dist/ not built (npm test builds it first)';

t.test('dist/index.d.ts accepts the documented uses and rejects the misuses', { skip }, async (t) => {
  const result = await promisify(execFile)(process.execPath, [tsc, '-p', 'test/fixtures/types/tsconfig.json'], {
    cwd: root,
  }).then(
    () => ({ code: 0, out: '' }),
    (err: { code?: number; stdout?: string }) => ({ code: err.code ?? 1, out: err.stdout ?? String(err) }),
  );
  t.equal(result.code, 0, result.out || 'tsc found no type errors and no unused @ts-expect-error');
});

/** Every name the package's entry point exports, values and types, as the compiler resolves them. */
function declaredExports(): string[] {
  const program = ts.createProgram([dts], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(dts)!)!;
  return checker.getExportsOfModule(module).map((s) => s.name);
}

/** The `identifier`s written in backticks in the README's "## API" section. */
function documentedNames(): string[] {
  const readme = readFileSync(`${root}/README.md`, 'utf8');
  const section = /^## API\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
  return [...section.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((m) => m[1]!);
}

t.test("the README's API section lists exactly the exports of dist/index.d.ts", { skip }, async (t) => {
  const declared = new Set(declaredExports());
  const documented = new Set(documentedNames());
  t.ok(declared.size > 50, `dist/index.d.ts exports ${declared.size} names`);
  // Backticked words that are not exports (`diagnostics_channel`, say) are allowed; every export must be listed.
  const notDocumented = [...declared].filter((n) => !documented.has(n)).sort();
  t.same(notDocumented, [], 'every export is listed in the README API section');
  const notExported = [...documented]
    .filter((n) => !declared.has(n) && /^[A-Z]|^[a-z]+[A-Z]/.test(n) && n !== 'diagnostics_channel')
    .sort();
  t.same(notExported, [], 'every name the API section lists is exported');
});
