// The dgen command line's sizes and messages, run as a user runs it: a child process on the built package.
// Every refusal exits 2, names the flag, shows the value as it was typed, and creates nothing.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binarySuffixes } from '../lib/sizes.js';
import { parseSize } from '../lib/params.js';

const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));

function dgen(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dgen-cli-msg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('fio/dd suffixes k, m, g, t are binary; kB and kb are SI; KiB binary', async (t) => {
  const cases: [string, number][] = [
    ['4k', 4096],
    ['4K', 4096],
    ['1m', 1 << 20],
    ['1g', 2 ** 30],
    ['1G', 2 ** 30],
    ['2t', 2 * 2 ** 40],
    ['1.5k', 1536],
    ['4KiB', 4096],
    ['4kB', 4000],
    ['4KB', 4000],
    ['4kb', 4000],
    ['1MB', 1e6],
    ['4096', 4096],
  ];
  for (const [text, bytes] of cases) t.equal(parseSize('size', binarySuffixes(text)), bytes, `${text} = ${bytes}`);
  t.equal(binarySuffixes('uniform:4k,1m'), 'uniform:4KiB,1MiB');
  t.equal(binarySuffixes('4k:50%,1M:50%'), '4KiB:50%,1MiB:50%');
  t.equal(binarySuffixes('lognormal:1m,256k,4k,16m'), 'lognormal:1MiB,256KiB,4KiB,16MiB');
});

t.test('dgen put takes 4k, 4kb and distributions with suffixes as the help says', async (t) => {
  const base = await tempDir(t);
  const sizes: [string, string][] = [
    ['4k', '4096'],
    ['4kb', '4000'],
    ['uniform:1k,2k', 'uniform:1024,2048'],
  ];
  // --ratio-codec reaches the library (its chunk size spelled with a suffix too) and the manifest.
  const codec = dgen(['put', join(base, 'codec'), '--size', '64k', '--compress', '2', '--ratio-codec', 'lz4@4k', '--json']);
  t.equal(codec.status, 0, codec.stderr);
  t.equal(JSON.parse(await readFile(join(base, 'codec', 'dgen-manifest.json'), 'utf8')).ratioCodec, 'lz4@4096');
  for (const [i, [size, recorded]] of sizes.entries()) {
    const dir = join(base, `run-${i}`);
    const r = dgen(['put', dir, '--count', '2', '--size', size, '--seed', '5', '--json']);
    t.equal(r.status, 0, r.stderr);
    const manifest = JSON.parse(await readFile(join(dir, 'dgen-manifest.json'), 'utf8'));
    t.equal(manifest.size, recorded, `--size ${size} is recorded as ${recorded}`);
  }
  const help = dgen(['put', '--help']).stdout;
  t.match(help, /k, m, g, t \(either case; fio and dd\) and KiB, MiB, GiB, TiB are powers\s+of 1024: 4k = 4KiB = 4096/);
  t.match(help, /\(4kb = 4kB = 4000\)/);
});

t.test('refusals: exit 2, the flag, the value as typed, the code, nothing created', async (t) => {
  const base = await tempDir(t);
  const cases: [string[], string | RegExp, NodeJS.ProcessEnv?][] = [
    [
      ['--compression', 'lz4'],
      'dgen: --compression: compression must be "none", "zstd" or "gzip"; got "lz4" [ERR_DGEN_INVALID_COMPRESSION]\n(run with --help for usage)\n',
    ],
    [
      ['--attempts', 'abc'],
      'dgen: --attempts: attempts must be a whole number in decimal digits; got "abc" [ERR_DGEN_INVALID_OPTION]\n',
    ],
    [
      ['--compression-level', '9'],
      'dgen: --compression-level: compressionLevel must be given with --compression zstd or gzip (there is no level without compression); got "9" [ERR_DGEN_INVALID_COMPRESSION]\n',
    ],
    [
      ['--compression', 'zstd', '--compression-level', '99'],
      'dgen: --compression-level: compressionLevel must be an integer from 1 to 19 for zstd; got "99" [ERR_DGEN_INVALID_COMPRESSION]\n',
    ],
    [
      ['--dedup', '0x2'],
      'dgen: --dedup: dedupRatio must be a decimal number, e.g. 2 or 1.5; got "0x2" [ERR_DGEN_INVALID_RATIO]\n',
    ],
    [
      ['--compress', '1e1'],
      'dgen: --compress: compressRatio must be a decimal number, e.g. 2 or 1.5; got "1e1" [ERR_DGEN_INVALID_RATIO]\n',
    ],
    [
      ['--seed', '0xZZ'],
      'dgen: --seed: seed must be an integer from 0 to 2^64-1, decimal or 0x hex; got "0xZZ" [ERR_DGEN_INVALID_SEED]\n',
    ],
    [['--count', '1e3'], 'dgen: --count: count must be a whole number in decimal digits; got "1e3" [ERR_DGEN_INVALID_OPTION]\n'],
    [['--size', '4x'], /^dgen: --size: size must be .*; got "4x" \[ERR_DGEN_INVALID_SIZE\]\n/],
    // A size the CLI spelled for the library (1.1k -> 1.1KiB, not whole bytes) is shown as typed.
    [['--dedup-unit', '1.1k'], /^dgen: --dedup-unit: dedupUnit must be .*; got "1\.1k" \[ERR_DGEN_INVALID_DEDUP_UNIT\]\n/],
    [
      ['--chunk-size', '1.25k', '--size', '1m'],
      /^dgen: --chunk-size: chunkSize must be a multiple of 512 bytes from 512 to \d+; got "1\.25k" \[ERR_DGEN_INVALID_CHUNK_SIZE\]\n/,
    ],
    [
      ['--status-interval', 'soon'],
      /^dgen: --status-interval: statusInterval must be a time above zero: .*; got "soon" \[ERR_DGEN_INVALID_OPTION\]\n/,
    ],
    [['--ratio-codec', 'bogus'], /^dgen: --ratio-codec: ratioCodec must be .*; got "bogus" \[ERR_DGEN_INVALID_OPTION\]\n/],
    [['--duration', '0s'], /^dgen: --duration: duration must be a time above zero: .*; got "0s" \[ERR_DGEN_INVALID_OPTION\]\n/],
    [
      ['--shards', '3'],
      'dgen: --shards: JOB_COMPLETION_INDEX must be a whole number from 0 to 2 with --shards 3 (the Indexed Job\'s completions must equal --shards); got JOB_COMPLETION_INDEX="5" [ERR_DGEN_INVALID_OPTION]\n',
      { JOB_COMPLETION_INDEX: '5' },
    ],
  ];
  for (const [i, [args, message, env]] of cases.entries()) {
    const dir = join(base, `never-${i}`);
    const r = dgen(['put', dir, ...args], env);
    t.equal(r.status, 2, `${args.join(' ')}: exit 2`);
    if (typeof message === 'string') t.equal(r.stderr.slice(0, message.length), message, `${args.join(' ')}: says what is wrong`);
    else t.match(r.stderr, message, `${args.join(' ')}: says what is wrong`);
    t.notMatch(r.stderr, /\[object |NaN/, `${args.join(' ')}: no [object ...] or NaN`);
    t.equal(r.stdout, '', 'nothing on stdout');
    t.notOk(existsSync(dir), `${args.join(' ')}: nothing created`);
  }
  // --json: the refusal is also a document on stdout.
  const json = dgen(['put', join(base, 'json'), '--dedup', '0x2', '--json']);
  t.equal(json.status, 2);
  t.match(JSON.parse(json.stdout), {
    ok: false,
    error: { code: 'ERR_DGEN_INVALID_RATIO', parameter: 'dedupRatio' },
    committed: 0,
  });
  // Hex seeds are accepted, as the help says, and reported in decimal.
  t.match(dgen(['put', '--help']).stdout, /--seed <seed>\s+64-bit seed, decimal or 0x hex/);
  const hex = dgen(['put', join(base, 'hex'), '--size', '4k', '--seed', '0x10', '--json']);
  t.equal(hex.status, 0, hex.stderr);
  t.equal(JSON.parse(hex.stdout).seed, '16');
});

t.test('merge and verify say what is missing, without pointing at --help', async (t) => {
  const base = await tempDir(t);
  const empty = dgen(['merge', base]);
  t.equal(empty.status, 1);
  t.equal(
    empty.stderr,
    `dgen: no shard manifests (dgen-manifest.shard-I-of-N.json) under ${base}: merge joins those of \`dgen put --shard I/N\` (or --shards N) runs [ERR_DGEN_NOT_FOUND]\n`,
  );
  const missing = dgen(['merge', join(base, 'nowhere')]);
  t.equal(missing.status, 1);
  t.equal(missing.stderr, `dgen: ${join(base, 'nowhere')} does not exist: nothing to merge [ERR_DGEN_NOT_FOUND]\n`);

  const dir = join(base, 'sharded');
  for (const shard of ['0/2', '1/2'])
    t.equal(dgen(['put', dir, '--count', '4', '--size', '4k', '--seed', '3', '--shard', shard]).status, 0);
  const early = dgen(['verify', dir]);
  t.equal(early.status, 1);
  t.match(
    early.stderr,
    /dgen-manifest\.json does not exist; the target holds 2 shard manifests of a sharded run \(file:\S+dgen-manifest\.shard-0+-of-0*2\.json, \.\.\.\): join them with `dgen merge \S+` first, or verify one shard with --manifest \S+ \[ERR_DGEN_NOT_MERGED\]/,
  );
  t.equal(dgen(['merge', dir]).status, 0);
  t.equal(dgen(['verify', dir]).status, 0, 'verify after merge');

  // A merge refusal from the manifests themselves: no "(run with --help for usage)".
  const odd = join(base, 'odd');
  t.equal(dgen(['put', odd, '--count', '4', '--size', '4k', '--seed', '3', '--shard', '0/2']).status, 0);
  const incomplete = dgen(['merge', odd]);
  t.equal(incomplete.status, 2);
  t.match(incomplete.stderr, /^dgen: .*shards.*\[ERR_DGEN_INVALID_MANIFEST\]\n$/);
  t.notMatch(incomplete.stderr, /--help/);
});

t.test("every command's help ends with examples; --version", async (t) => {
  for (const command of [[], ['put'], ['cat'], ['verify'], ['merge'], ['analyze']]) {
    const r = dgen([...command, '--help']);
    t.equal(r.status, 0);
    const examples = /\nExamples:\n(( {2}\$ dgen .*\n){2,3})$/.exec(r.stdout);
    t.ok(examples, `dgen ${command.join(' ')} --help ends with 2 or 3 examples`);
  }
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  for (const flag of ['--version', '-V']) {
    const r = dgen([flag]);
    t.equal(r.status, 0);
    t.equal(r.stdout, `${pkg.name} ${pkg.version}\n`);
  }
});

t.test('put refuses bad options and missing credentials before it creates anything: exit 2, the flag named', async (t) => {
  const base = await tempDir(t);
  const noAzure = { AZURE_STORAGE_CONNECTION_STRING: '' };
  const cases: [string[], NodeJS.ProcessEnv, string][] = [
    // An Azure target without an account: refused up front, not one manifest failure per object (exit 1).
    [
      ['put', 'az://container/run', '--count', '3', '--manifest', join(base, 'az', 'm.json')],
      noAzure,
      'dgen: connectionString must be given, or AZURE_STORAGE_CONNECTION_STRING set; got undefined [ERR_DGEN_INVALID_OPTION]\n',
    ],
    [
      ['put', join(base, 'az-manifest'), '--manifest', 'az://container/m.json'],
      noAzure,
      'dgen: connectionString must be given, or AZURE_STORAGE_CONNECTION_STRING set; got undefined [ERR_DGEN_INVALID_OPTION]\n',
    ],
    [
      ['put', join(base, 'retry'), '--retry-base-ms', '-5'],
      {},
      'dgen: --retry-base-ms: retryBaseMs must be a whole number in decimal digits; got "-5" [ERR_DGEN_INVALID_OPTION]\n(run with --help for usage)\n',
    ],
    [
      ['put', join(base, 'attempts'), '--attempts', '0'],
      {},
      'dgen: --attempts: attempts must be a whole number >= 1; got "0" [ERR_DGEN_INVALID_OPTION]\n(run with --help for usage)\n',
    ],
    // A backend's option is checked by its backend whatever the target.
    [
      ['put', join(base, 'part'), '--part-size', '5'],
      {},
      'dgen: --part-size: partSize must be a whole number of bytes from 5242880 (5 MiB) to 5368709120 (5 GiB), or a size string such as "16MiB"; got "5" [ERR_DGEN_INVALID_OPTION]\n(run with --help for usage)\n',
    ],
    [
      ['put', join(base, 'endpoint'), '--endpoint', 'ftp://host'],
      {},
      'dgen: --endpoint: endpoint must be an http:// or https:// URL; got "ftp://host" [ERR_DGEN_INVALID_OPTION]\n(run with --help for usage)\n',
    ],
  ];
  for (const [args, env, stderr] of cases) {
    const r = dgen(args, env);
    t.equal(r.status, 2, args.join(' '));
    t.equal(r.stderr, stderr);
  }
  t.same(readdirSync(base), [], 'nothing created: no target directory, no manifest');
  const ok = dgen(['put', join(base, 'ok'), '--size', '4k', '--retry-base-ms', '0']);
  t.equal(ok.status, 0, '--retry-base-ms 0 is a value the run takes');
});
