// dgen cat regenerates any object of any run byte-equal to what dgen put wrote: from the run's manifest,
// or from the same flags (dataset scope, size distributions, compression); and it keeps binary data off
// a terminal (tested with a real pty: util-linux script).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isFailureRecord, readManifest, readManifestRecords, type ManifestRecord } from '../lib/index.js';
import { hasTool } from './fixtures/helpers.js';

const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));

function dgen(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'buffer', maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dgen-cli-cat-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function records(dir: string): Promise<ManifestRecord[]> {
  const manifestPath = join(dir, 'dgen-manifest.json');
  const out: ManifestRecord[] = [];
  for await (const r of readManifestRecords(await readManifest(manifestPath), manifestPath)) if (!isFailureRecord(r)) out.push(r);
  return out.sort((a, b) => Number(a.objectId) - Number(b.objectId));
}

// Each run: the put's flags, and whether cat given the same flags (no manifest) also repeats it.
const RUNS: [string, string[]][] = [
  [
    'dataset scope, a size distribution, zstd',
    [
      '--count',
      '5',
      '--size',
      'uniform:10k,300k',
      '--dedup',
      '3',
      '--compress',
      '2',
      '--dedup-scope',
      'dataset',
      '--compression',
      'zstd',
      '--seed',
      '11',
    ],
  ],
  [
    'a weighted size list, gzip level 1',
    [
      '--count',
      '4',
      '--size',
      '4k:50%,200k:50%',
      '--dedup',
      '1.5',
      '--compress',
      '4',
      '--compression',
      'gzip',
      '--compression-level',
      '1',
      '--seed',
      '12',
    ],
  ],
  [
    'dataset scope, fixed size, uncompressed',
    ['--count', '4', '--size', '96k', '--dedup', '2', '--dedup-scope', 'dataset', '--seed', '13'],
  ],
  [
    'lognormal sizes, object scope, a ratio codec',
    [
      '--count',
      '4',
      '--size',
      'lognormal:64k,32k,4k,256k',
      '--dedup',
      '2',
      '--compress',
      '2',
      '--ratio-codec',
      'lz4@4k',
      '--seed',
      '14',
    ],
  ],
];

for (const [name, flags] of RUNS) {
  t.test(`cat --manifest and cat with put's flags equal every object: ${name}`, async (t) => {
    const dir = join(await tempDir(t), 'run');
    const put = dgen(['put', dir, ...flags]);
    t.equal(put.status, 0, put.stderr);
    const objects = await records(dir);
    t.ok(objects.length >= 4);
    for (const o of objects) {
      const stored = await readFile(join(dir, o.name));
      const fromManifest = dgen(['cat', '--manifest', join(dir, 'dgen-manifest.json'), '--object', o.objectId]);
      t.equal(fromManifest.status, 0, fromManifest.stderr);
      t.ok(fromManifest.stdout.equals(stored), `cat --manifest --object ${o.objectId} equals ${o.name} (${stored.length} bytes)`);
      const fromFlags = dgen(['cat', ...flags, '--object', o.objectId]);
      t.equal(fromFlags.status, 0, fromFlags.stderr);
      t.ok(fromFlags.stdout.equals(stored), `cat with the put's flags, --object ${o.objectId}, equals ${o.name}`);
    }
  });
}

t.test('cat refusals: flags beside --manifest, dataset scope without --count, an object past the run', async (t) => {
  const dir = join(await tempDir(t), 'run');
  t.equal(dgen(['put', dir, '--count', '2', '--size', '4k', '--seed', '1']).status, 0);
  const manifest = join(dir, 'dgen-manifest.json');
  const cases: [string[], string][] = [
    [
      ['--manifest', manifest, '--size', '8k'],
      'dgen: --size: size must be absent with --manifest (--size is taken from the manifest); got "8k" [ERR_DGEN_INVALID_OPTION]\n',
    ],
    [
      ['--manifest', manifest, '--object', '2'],
      `dgen: --object: objectId must be below the run's count of objects, 2 (${manifest}); got "2" [ERR_DGEN_INVALID_OBJECT_ID]\n`,
    ],
    [
      ['--dedup-scope', 'dataset', '--size', '4k'],
      'dgen: --dedup-scope: dedupScope must be given with --count (the objects of the data set share its units); got "dataset" [ERR_DGEN_INVALID_OPTION]\n',
    ],
    [
      ['--count', '3', '--object', '3'],
      'dgen: --object: objectId must be below --count (3); got "3" [ERR_DGEN_INVALID_OBJECT_ID]\n',
    ],
    [
      ['--compression', 'zstd', '--compression-level', '0'],
      'dgen: --compression-level: compressionLevel must be an integer from 1 to 19 for zstd; got "0" [ERR_DGEN_INVALID_COMPRESSION]\n',
    ],
  ];
  for (const [args, message] of cases) {
    const r = dgen(['cat', ...args]);
    t.equal(r.status, 2, `${args.join(' ')}: exit 2`);
    t.equal(r.stderr.slice(0, message.length), message, `${args.join(' ')}: says what is wrong`);
    t.equal(r.stdout.length, 0, 'nothing written');
  }
});

t.test(
  'cat keeps binary data off a terminal unless --force (a real pty)',
  { skip: !hasTool('script') && 'util-linux script is not installed' },
  async (t) => {
    // script runs the command on a new pty and copies what it writes; -e returns its exit status.
    const run = (args: string) =>
      spawnSync('script', ['-qec', `${process.execPath} ${bin} cat ${args}`, '/dev/null'], { encoding: 'latin1' });
    const refused = run('--size 64 --seed 1');
    t.equal(refused.status, 2);
    t.match(
      refused.stdout,
      /dgen: stdout is a terminal: dgen cat writes binary data; redirect it \(> file, \| command\) or give --force \[ERR_DGEN_STDOUT_TERMINAL\]/,
    );
    const forced = run('--size 64 --seed 1 --force');
    t.equal(forced.status, 0);
    t.notMatch(forced.stdout, /stdout is a terminal/);
    // The same command into a pipe is not a terminal: the bytes come out.
    const piped = dgen(['cat', '--size', '64', '--seed', '1']);
    t.equal(piped.status, 0);
    t.equal(piped.stdout.length, 64);
  },
);

t.test('cat --rate paces its output; a bad rate names the flag', async (t) => {
  // 1.5 MiB at 1 MiB/s: the pacer lets the bytes up to offset E out no earlier than E / rate seconds after
  // the start, so the run cannot end before 1.5 s (a bound the load can only make larger).
  const started = performance.now();
  const paced = dgen(['cat', '--size', '1.5m', '--seed', '3', '--rate', '1m/s']);
  const seconds = (performance.now() - started) / 1000;
  t.equal(paced.status, 0, paced.stderr);
  t.equal(paced.stdout.length, 1.5 * 1024 * 1024);
  t.ok(paced.stdout.equals(dgen(['cat', '--size', '1536KiB', '--seed', '3']).stdout), 'the same bytes as unpaced');
  t.ok(seconds >= 1.4, `no faster than the rate (${seconds.toFixed(2)} s)`);
  const bad = dgen(['cat', '--size', '4k', '--rate', 'fast']);
  t.equal(bad.status, 2);
  t.match(
    bad.stderr,
    /^dgen: --rate: rate must be a positive rate in bytes per second.*; got "fast" \[ERR_DGEN_INVALID_OPTION\]\n/,
  );
});
