// The dgen command line, run as a user runs it: a child process on the built package.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { crc32c } from '@node-rs/crc32';
import {
  formatCrc32c,
  generatorFor,
  isFailureRecord,
  readManifest,
  readManifestRecords,
  MANIFEST_NAME,
  type ManifestRecord,
} from '../lib/index.js';
import { dedupRatio, hasTool, near, toolRatio } from './fixtures/helpers.js';

const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));

function dgen(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'buffer', maxBuffer: 1 << 30 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dgen-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('dgen put writes distinct objects and a manifest; files equal regeneration', async (t) => {
  const dir = join(await tempDir(t), 'out');
  const r = dgen([
    'put',
    dir,
    '--count',
    '5',
    '--size',
    '1MiB',
    '--dedup',
    '2',
    '--compress',
    '3',
    '--seed',
    '42',
    '--concurrency',
    '2',
    '--json',
  ]);
  t.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout.toString());
  t.equal(summary.seed, '42');
  t.same(summary.parameters, { count: 5, size: 1048576, dedupRatio: 2, compressRatio: 3, dedupUnit: 4096, dedupScope: 'object' });
  t.match(summary, { committed: 5, failed: 0, bytes: 5 * 1048576, failures: [] });
  t.notOk('objects' in summary, 'the summary does not list every object');
  t.equal(summary.manifest, pathToFileURL(join(dir, MANIFEST_NAME)).href);
  t.equal(summary.records, pathToFileURL(join(dir, 'dgen-manifest.records.ndjson')).href);
  const files = (await readdir(dir)).sort();
  t.same(files, [
    MANIFEST_NAME,
    'dgen-manifest.records.ndjson',
    'obj-000000.bin',
    'obj-000001.bin',
    'obj-000002.bin',
    'obj-000003.bin',
    'obj-000004.bin',
  ]);
  const manifest = await readManifest(join(dir, MANIFEST_NAME));
  t.match(manifest, { version: 2, committed: 5, failed: 0, bytes: 5 * 1048576, records: 'dgen-manifest.records.ndjson' });
  const records: ManifestRecord[] = [];
  for await (const r of readManifestRecords(manifest, join(dir, MANIFEST_NAME))) if (!isFailureRecord(r)) records.push(r);
  records.sort((a, b) => Number(a.objectId) - Number(b.objectId));
  t.same(
    records.map((o) => o.objectId),
    ['0', '1', '2', '3', '4'],
  );
  const all: Buffer[] = [];
  for (const o of records) {
    const onDisk = await readFile(join(dir, o.name));
    t.ok(onDisk.equals(generatorFor(manifest, o).generateSync()), `${o.name} equals regeneration from the manifest`);
    t.equal(o.crc32c, formatCrc32c(crc32c(onDisk)));
    t.equal(o.size, 1048576);
    all.push(onDisk);
  }
  t.ok(near(dedupRatio(all, 4096), 2, 0.01), 'five objects dedup 2 together: no object repeats another');
});

t.test('dgen cat equals object N of dgen put; a closed pipe ends it quietly', async (t) => {
  const dir = await tempDir(t);
  const args = ['--size', '3MiB', '--dedup', '1.5', '--compress', '2', '--seed', '7'];
  t.equal(dgen(['put', dir, '--count', '3', ...args]).status, 0);
  const cat = dgen(['cat', ...args, '--object', '2']);
  t.equal(cat.status, 0);
  t.ok(cat.stdout.equals(await readFile(join(dir, 'obj-000002.bin'))), 'cat --object 2 equals obj-000002.bin');
  // Closed pipe: read 100 bytes of a 100 GiB object, then close.
  const child = spawn(process.execPath, [bin, 'cat', '--size', '100GiB', '--seed', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(code, 0, 'exit 0 on EPIPE');
  t.equal(stderr, '', 'nothing on stderr');
});

// The README's main job, as is. Whole-stream compressors also find the duplicates that fall inside their
// window (zstd -3: 2 MiB), about window / object size of them: objects of 256 MiB keep that near 1%.
t.test('the main job measures as asked with the zstd, gzip and lz4 command-line tools', async (t) => {
  const dir = await tempDir(t);
  const r = dgen(['put', dir, '--count', '4', '--size', '256MiB', '--dedup', '2', '--compress', '3', '--seed', '2026']);
  t.equal(r.status, 0, r.stderr);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.bin'));
  t.equal(files.length, 4);
  const all = await Promise.all(files.map((f) => readFile(join(dir, f))));
  t.ok(near(dedupRatio(all, 4096), 2, 0.01), `dedup at 4 KiB: ${dedupRatio(all, 4096).toFixed(4)}`);
  const tools: [string, string[]][] = [
    ['zstd', ['zstd', '-1', '-c']],
    ['zstd', ['zstd', '-3', '-c']],
    ['gzip', ['gzip', '-6', '-c']],
    ['lz4', ['lz4', '-1', '-c']],
  ];
  for (const [tool, args] of tools) {
    if (!hasTool(tool)) {
      t.fail(`${tool} is not installed (.ci/run installs it)`);
      continue;
    }
    const ratio = toolRatio(args, join(dir, files[0]!), 256 * 1024 * 1024);
    t.ok(near(ratio, 3, 0.05), `${args.join(' ')}: ${ratio.toFixed(3)}`);
  }
});

t.test('bad values and unknown flags: exit 2, a message naming the flag, nothing created', async (t) => {
  const base = await tempDir(t);
  const dir = join(base, 'never');
  const cases: [string[], RegExp][] = [
    [['--dedup', '0.5'], /--dedup: dedupRatio must be a number from 1.*got "0.5" \[ERR_DGEN_INVALID_RATIO\]/],
    [['--compress', 'lots'], /--compress: compressRatio .*\[ERR_DGEN_INVALID_RATIO\]/],
    [['--size', '12 parsecs'], /--size: size must be .*\[ERR_DGEN_INVALID_SIZE\]/],
    [['--dedup-unit', '1000'], /--dedup-unit: .*multiple of 512.*\[ERR_DGEN_INVALID_DEDUP_UNIT\]/],
    [['--seed', '-4'], /--seed: .*\[ERR_DGEN_INVALID_SEED\]/],
    [['--count', '0'], /--count: count must be a whole number >= 1/],
    [['--concurrency', 'x'], /--concurrency: /],
    [['--chunk-size', '1000'], /--chunk-size: /],
    [['--bogus'], /unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const r = dgen(['put', dir, ...args]);
    t.equal(r.status, 2, `${args.join(' ')} exits 2`);
    t.match(r.stderr, message);
    t.equal(r.stdout.length, 0, 'nothing on stdout');
  }
  t.notOk(existsSync(dir), 'no directory was created');
  t.equal(dgen(['cat', '--size', '1', '--object', '-1']).status, 2);
  t.equal(dgen(['frobnicate']).status, 2);
  const help = dgen(['put', '--help']);
  t.equal(help.status, 0);
  t.match(help.stdout.toString(), /--dedup-unit <size>/);
});

t.test(
  'a destination that cannot be a directory: refused before the first object (exit 2), the error said, nothing created',
  async (t) => {
    const base = await tempDir(t);
    const file = join(base, 'a-file');
    await writeFile(file, 'x');
    const r = dgen(['put', join(file, 'sub'), '--size', '1MiB']);
    t.equal(r.status, 2);
    t.match(r.stderr, /dgen: .*(EEXIST|ENOTDIR)/);
    t.same(await readdir(base), ['a-file']);
  },
);
