// `dgen put --format` and `--dlio-workload`, run as a user runs them: a child process on the built package.
// NPZ files read back by NumPy (Debian's python3-numpy through /usr/bin/python3), TFRecord files and their
// DALI index files checked against the record framing, usage errors that create nothing, a real SIGINT.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { PYTHON, hasPythonModule, tempDir } from './fixtures/python.js';

const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));
const hasNumpy = hasPythonModule('numpy');

function dgen(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under dir, relative, sorted. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

t.test('--format npz: 3 files under train/ that numpy.load reads, distinct, with the asked shape', async (t) => {
  if (!hasNumpy) return t.skip('python3-numpy missing (apt-get install python3-numpy)');
  const dir = join(tempDir(t), 'npz');
  const r = dgen([
    'put',
    dir,
    '--format',
    'npz',
    '--count',
    '3',
    '--samples',
    '2',
    '--record-length',
    '64KiB',
    '--dtype',
    'float32',
    '--dedup',
    '1',
    '--compress',
    '2',
    '--seed',
    '11',
  ]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, '', 'without --json nothing on stdout');
  t.match(r.stderr, /dgen put: 3 npz files, /);
  const names = ['train/img_0_of_3.npz', 'train/img_1_of_3.npz', 'train/img_2_of_3.npz'];
  t.same(tree(dir), ['dgen-manifest.json', 'dgen-manifest.records.ndjson', ...names], 'the files and the manifest');
  const script = `
import sys, json, hashlib, numpy as np
out = []
for path in sys.argv[1:]:
    with np.load(path) as d:
        x, y = d['x'], d['y']
        out.append({'keys': sorted(d.keys()), 'shape': list(x.shape), 'dtype': x.dtype.str, 'y': list(y.shape),
                    'samples': [hashlib.sha256(np.ascontiguousarray(x[..., i]).tobytes()).hexdigest() for i in range(x.shape[-1])]})
print(json.dumps(out))
`;
  const py = spawnSync(PYTHON, ['-c', script, ...names.map((n) => join(dir, n))], { encoding: 'utf8' });
  t.equal(py.status, 0, py.stderr);
  const read = JSON.parse(py.stdout) as { keys: string[]; shape: number[]; dtype: string; y: number[]; samples: string[] }[];
  t.equal(read.length, 3);
  for (const f of read) {
    t.same(f.keys, ['x', 'y']);
    t.equal(f.dtype, '<f4');
    t.equal(f.shape.at(-1), 2, 'samples on the last axis');
    t.equal(f.shape.slice(0, -1).reduce((a, b) => a * b, 1) * 4, 65536, 'one sample is --record-length bytes');
    t.same(f.y, [2]);
  }
  const samples = read.flatMap((f) => f.samples);
  t.equal(new Set(samples).size, 6, 'every sample of every file is distinct');

  // The same command with the same seed gives the same bytes (files derived from seed and object id).
  const again = join(dir, '..', 'again');
  t.equal(
    dgen([
      'put',
      again,
      '--format',
      'npz',
      '--count',
      '3',
      '--samples',
      '2',
      '--record-length',
      '64KiB',
      '--dtype',
      'float32',
      '--compress',
      '2',
      '--seed',
      '11',
    ]).status,
    0,
  );
  for (const n of names) t.ok(readFileSync(join(dir, n)).equals(readFileSync(join(again, n))), `${n} equal with the same seed`);
});

t.test('--dlio-workload resnet50 --count 2 (small records): TFRecord files, DALI index files, --json summary', async (t) => {
  const dir = join(tempDir(t), 'resnet50');
  const r = dgen([
    'put',
    dir,
    '--dlio-workload',
    'resnet50',
    '--count',
    '2',
    '--samples',
    '8',
    '--record-length',
    '32KiB',
    '--valid-count',
    '1',
    '--seed',
    '3',
    '--json',
  ]);
  t.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  t.match(summary, { ok: true, format: 'tfrecord', dlioWorkload: 'resnet50', seed: '3', target: dir, files: 3 });
  t.same(summary.folders, ['train', 'valid']);
  t.type(summary.seconds, 'number');
  t.type(summary.bytesPerSecond, 'number');
  t.same(tree(dir), [
    'dgen-manifest.json',
    'dgen-manifest.records.ndjson',
    'index/train/img_0_of_2.tfrecord.idx',
    'index/train/img_1_of_2.tfrecord.idx',
    'index/valid/img_0_of_1.tfrecord.idx',
    'train/img_0_of_2.tfrecord',
    'train/img_1_of_2.tfrecord',
    'valid/img_0_of_1.tfrecord',
  ]);
  let total = 0;
  for (const name of ['train/img_0_of_2.tfrecord', 'train/img_1_of_2.tfrecord', 'valid/img_0_of_1.tfrecord']) {
    const file = readFileSync(join(dir, name));
    total += file.length;
    // TFRecord framing: u64 length, u32 masked CRC of the length, data, u32 masked CRC of the data. Walk it
    // and compare with the index file (offset and size of each record, one per line).
    const walked: [number, number][] = [];
    for (let at = 0; at < file.length; ) {
      const length = Number(file.readBigUInt64LE(at));
      walked.push([at, length + 16]);
      at += length + 16;
      t.ok(at <= file.length, 'records end inside the file');
    }
    t.equal(walked.length, 8, `${name}: --samples records`);
    const index = readFileSync(join(dir, 'index', `${name}.idx`), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number));
    t.same(index, walked, `${name}: index lists each record's offset and size`);
    t.ok(
      walked.every(([, size]) => size > 32 * 1024),
      'each record holds --record-length bytes of payload',
    );
  }
  t.equal(summary.bytes, total, 'bytes: the data files as stored');
});

t.test('usage errors exit 2 and create nothing', async (t) => {
  const base = tempDir(t);
  const cases: [string[], RegExp][] = [
    [['--format', 'npy'], /--format: .*one of npz, tfrecord, hdf5, parquet, safetensors.*ERR_DGEN_INVALID_FORMAT/],
    [['--dlio-workload', 'bert'], /one of unet3d, resnet50, cosmoflow.*ERR_DGEN_INVALID_FORMAT/],
    [['--format', 'npz', '--resume'], /--resume: .*absent with --format.*ERR_DGEN_INVALID_OPTION/],
    [['--format', 'npz', '--dedup-scope', 'dataset'], /--dedup-scope: .*"object" with --format.*ERR_DGEN_INVALID_OPTION/],
    [['--format', 'npz', '--samples', '0'], /--samples: .*ERR_DGEN_INVALID_FORMAT/],
    [['--format', 'npz', '--dtype', 'float128'], /--dtype: .*ERR_DGEN_INVALID_FORMAT/],
    [['--format', 'npz', '--layout', 'flat', '--valid-count', '1'], /--valid-count: .*ERR_DGEN_INVALID_FORMAT/],
    [['--format', 'npz', '--dedup', '0.5'], /--dedup: .*ERR_DGEN_INVALID_RATIO/],
    [['--samples', '4'], /--samples: .*only with --format.*ERR_DGEN_INVALID_OPTION/],
  ];
  for (const [i, [args, message]] of cases.entries()) {
    const dir = join(base, `out-${i}`);
    const r = dgen(['put', dir, ...args]);
    t.equal(r.status, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, message, `${args.join(' ')}: says what is wrong`);
    t.notOk(existsSync(dir), `${args.join(' ')}: nothing created`);
  }
  const dir = join(base, 'json');
  const r = dgen(['put', dir, '--format', 'npy', '--json']);
  t.equal(r.status, 2);
  t.match(JSON.parse(r.stdout), { ok: false, format: 'npy', error: { code: 'ERR_DGEN_INVALID_FORMAT', parameter: 'format' } });
  t.notOk(existsSync(dir));
});

t.test('SIGINT stops a formatted put: exit 130, committed files whole, nothing partial left', async (t) => {
  const dir = join(tempDir(t), 'sigint');
  const child = spawn(
    process.execPath,
    [bin, 'put', dir, '--format', 'npz', '--count', '400', '--size', '4MiB', '--concurrency', '2', '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Wait for the first committed file (the run is far from done then: 400 files of 4 MiB).
  const train = join(dir, 'train');
  while (!(existsSync(train) && readdirSync(train).some((n) => n.endsWith('.npz')))) {
    if (child.exitCode !== null) break;
    await sleep(20);
  }
  child.kill('SIGINT');
  t.equal(await exited, 130, stderr);
  t.match(JSON.parse(stdout), { ok: false, interrupted: 'SIGINT', format: 'npz' });
  t.match(stderr, /interrupted by SIGINT/);
  const files = tree(dir).filter((n) => !n.startsWith('dgen-manifest.'));
  t.ok(files.length > 0 && files.length < 400, `stopped early (${files.length} files)`);
  t.same(
    files.filter((n) => !/^train\/img_\d+_of_400\.npz$/.test(n)),
    [],
    'no partial or stray file left',
  );
  const sizes = new Set(files.map((n) => statSync(join(dir, n)).size));
  t.equal(sizes.size, 1, 'every committed file has the full size');
});
