// NPZ files as NumPy reads them (Debian's python3-numpy through /usr/bin/python3): keys, shapes, dtypes,
// array bytes equal to regeneration, every sample of every file distinct; the ratios measured on the
// file bytes by fixed-chunk hashing and the zstd CLI; bad parameters refused with typed errors.
import t from 'tap';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { createNpzFile } from '../lib/formats/npz.js';
import { dedupRatio, hasTool, near, toolRatio } from './fixtures/helpers.js';
import { hasPythonModule, python, sha, tempDir } from './fixtures/python.js';

const hasNumpy = hasPythonModule('numpy');

const READ = `
import sys, json, hashlib, numpy as np
out = []
for path in sys.argv[1:]:
    with np.load(path) as d:
        x, y = d['x'], d['y']
        out.append({'keys': sorted(d.keys()), 'shape': list(x.shape), 'dtype': x.dtype.str,
                    'yshape': list(y.shape), 'ydtype': y.dtype.str, 'yzero': bool((y == 0).all()),
                    'sha': hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest(),
                    'samples': [hashlib.sha256(np.ascontiguousarray(x[..., i]).tobytes()).hexdigest() for i in range(x.shape[-1])]})
print(json.dumps(out))
`;

t.test('numpy.load reads every file: keys x/y, shapes, dtypes, bytes equal regeneration, samples distinct', async (t) => {
  if (!hasNumpy) return t.skip('python3-numpy missing (apt-get install python3-numpy)');
  const dir = tempDir(t);
  const cases = [
    { samples: 4, recordLength: 65536, dtype: 'uint8' },
    { samples: 3, sampleShape: [7, 11, 13], dtype: 'float32' },
    { samples: 1, recordLength: 1000, dtype: 'int16', dedupUnit: 512 },
    { samples: 2, recordLength: 20000, dtype: 'float64', dedupUnit: 65536 },
  ];
  const paths: string[] = [];
  const files = [];
  for (const [i, c] of cases.entries()) {
    for (const objectId of [0, 1]) {
      const f = createNpzFile({ ...c, seed: 99, objectId: i * 2 + objectId, compressRatio: 2 });
      const path = join(dir, `img_${i * 2 + objectId}_of_${cases.length * 2}.npz`);
      await pipeline(f.stream(), createWriteStream(path));
      t.equal(statSync(path).size, f.size, `${path}: size computed up front`);
      paths.push(path);
      files.push(f);
    }
  }
  const read = python<
    {
      keys: string[];
      shape: number[];
      dtype: string;
      yshape: number[];
      ydtype: string;
      yzero: boolean;
      sha: string;
      samples: string[];
    }[]
  >(READ, paths);
  const seen = new Set<string>();
  let total = 0;
  for (const [i, f] of files.entries()) {
    const r = read[i]!;
    t.same(r.keys, ['x', 'y'], 'keys');
    t.same(r.shape, f.layout.shape, 'x shape');
    t.equal(r.dtype, { uint8: '|u1', float32: '<f4', int16: '<i2', float64: '<f8' }[f.layout.dtype as string], 'x dtype');
    t.same(r.yshape, [f.layout.samples], 'y shape');
    t.equal(r.ydtype, '<i8', 'y dtype');
    t.ok(r.yzero, 'labels are zeros');
    t.equal(r.sha, sha(f.generator.generateSync()), 'x bytes equal regeneration');
    for (const s of r.samples) seen.add(s);
    total += r.samples.length;
  }
  t.equal(seen.size, total, `all ${total} samples of all files distinct`);
  t.ok(files[0]!.layout.aligned && files[0]!.layout.arrayOffset % 4096 === 0, 'x data at a 4 KiB multiple');
  t.ok(
    files[6]!.layout.aligned && files[6]!.layout.arrayOffset % 65536 === 0,
    '64 KiB unit: past NumPy header limit, aligned by ZIP extra-field padding',
  );
  if (hasTool('unzip')) {
    for (const path of paths) {
      const r = spawnSync('unzip', ['-t', path], { encoding: 'utf8' });
      t.equal(r.status, 0, `unzip -t ${path}: CRCs check (${r.stdout.trim().split('\n').pop()})`);
    }
  }
});

t.test('DLIO unet3d-like file: the header stays within NumPy limits and the ratios hold in the file', async (t) => {
  if (!hasTool('zstd')) return t.skip('zstd CLI missing');
  const dir = tempDir(t);
  for (const { d, c } of [
    { d: 1, c: 1 },
    { d: 2, c: 3 },
    { d: 4, c: 2 },
  ]) {
    const f = createNpzFile({
      samples: 1,
      recordLength: 32 * 1024 * 1024,
      seed: 5,
      objectId: 7,
      dedupRatio: d,
      compressRatio: c,
    });
    const path = join(dir, `r-${d}-${c}.npz`);
    await pipeline(f.stream(), createWriteStream(path));
    const bytes = readFileSync(path);
    const measuredD = dedupRatio(bytes, 4096);
    const measuredC = toolRatio(['zstd', '-1', '-c'], path, bytes.length);
    t.comment(`npz d=${d} c=${c}: dedup ${measuredD.toFixed(4)}, zstd-1 ${measuredC.toFixed(4)} (${bytes.length} bytes)`);
    // Framing: one header unit and one tail unit of the file are unique beyond the array's units.
    t.ok(near(measuredD, d, 0.005), `dedup ${measuredD} within 0.5% of ${d}`);
    t.ok(near(measuredC, c, 0.05), `zstd -1 ${measuredC} within 5% of ${c}`);
  }
});

t.test('size derives the record length: the file fills the size without exceeding it', async (t) => {
  for (const size of [16 * 1024 * 1024, 1_000_000]) {
    const f = createNpzFile({ size, samples: 2, dtype: 'float32', seed: 1 });
    t.ok(f.size <= size && f.size > size - 8 * 64, `size ${size} -> file ${f.size}`);
  }
});

t.test('bad parameters throw ERR_DGEN_INVALID_FORMAT before anything is generated', async (t) => {
  const bad: [string, object][] = [
    ['samples', { samples: 0, recordLength: 1024 }],
    ['dtype', { dtype: 'float128', recordLength: 1024 }],
    ['dtype', { dtype: 'bfloat16', recordLength: 1024 }],
    ['recordLength', { dtype: 'float32', recordLength: 1023 }],
    ['sampleShape', { sampleShape: [10, 10], recordLength: 1024 }],
    ['sampleShape', { sampleShape: [0, 10] }],
    ['sampleShape', {}],
    ['size', { size: 100, samples: 4 }],
  ];
  for (const [parameter, options] of bad) {
    t.throws(
      () => createNpzFile({ seed: 1, ...options }),
      { code: 'ERR_DGEN_INVALID_FORMAT', parameter },
      JSON.stringify(options),
    );
  }
  t.throws(() => createNpzFile({ recordLength: 1024, dedupRatio: 0.5 }), { code: 'ERR_DGEN_INVALID_RATIO' });
});
