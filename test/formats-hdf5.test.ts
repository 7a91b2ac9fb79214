// HDF5 files opened by h5py (Debian's python3-h5py through /usr/bin/python3): datasets records/labels,
// shapes, dtypes, records' bytes equal to regeneration, every sample of every file distinct, records on a
// dedup-unit multiple (h5py's get_offset); the same bytes from a second process; ratios in the file by
// fixed-chunk hashing and the zstd CLI; DLIO layout with .hdf5 names; typed errors.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createHdf5File, HDF5_MAX_DATASET } from '../lib/formats/hdf5.js';
import { putFormatObjects } from '../lib/formats/put-format.js';
import { dedupRatio, hasTool, near, toolRatio } from './fixtures/helpers.js';
import { hasPythonModule, python, sha, tempDir } from './fixtures/python.js';

const hasH5py = hasPythonModule('h5py');
const READ = `
import sys, json, hashlib, h5py, numpy as np
out = []
for path in sys.argv[1:]:
    with h5py.File(path, 'r') as f:
        r = f['records']
        x = r[()]
        out.append({'keys': sorted(f.keys()), 'shape': list(r.shape), 'dtype': r.dtype.str, 'offset': r.id.get_offset(),
                    'labels': f['labels'][()].tolist(), 'ldtype': f['labels'].dtype.str,
                    'sha': hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest(),
                    'samples': [hashlib.sha256(np.ascontiguousarray(x[i]).tobytes()).hexdigest() for i in range(x.shape[0])]})
print(json.dumps(out))
`;

type Read = {
  keys: string[];
  shape: number[];
  dtype: string;
  offset: number;
  labels: number[];
  ldtype: string;
  sha: string;
  samples: string[];
};

t.test('h5py opens every file: records and labels, bytes equal regeneration, samples distinct, aligned', async (t) => {
  if (!hasH5py) return t.skip('python3-h5py missing (apt-get install python3-h5py)');
  const dir = tempDir(t);
  const cases = [
    { samples: 3, recordLength: 100_000 },
    { samples: 2, sampleShape: [16, 9], dtype: 'float32', dedupUnit: 512 }, // samples of >= 512 bytes: smaller ones can fall inside a sector's zero filler at c > 1
    { samples: 4, recordLength: 1 << 20, dedupUnit: 65536 },
    { samples: 2, sampleShape: [3, 4, 6], dtype: 'int64' },
  ];
  const files = [];
  const paths: string[] = [];
  for (const [i, c] of cases.entries()) {
    for (const objectId of [0, 1]) {
      const f = await createHdf5File({ ...c, seed: 3, objectId: i * 2 + objectId, compressRatio: 2 });
      const path = join(dir, `img_${i * 2 + objectId}_of_${cases.length * 2}.hdf5`);
      await pipeline(f.stream(), createWriteStream(path));
      t.equal(statSync(path).size, f.size, 'size computed up front');
      files.push(f);
      paths.push(path);
    }
  }
  const read = python<Read[]>(READ, paths);
  const seen = new Set<string>();
  let total = 0;
  for (const [k, f] of files.entries()) {
    const r = read[k]!;
    t.ok(r.keys.includes('records') && r.keys.includes('labels'), `datasets ${r.keys.join(', ')}`);
    t.same(r.shape, f.shape, 'records shape');
    t.equal(r.dtype, { uint8: '|u1', float32: '<f4', int64: '<i8' }[f.dtype as string], 'records dtype');
    t.same(r.labels, new Array(f.shape[0]).fill(0), 'labels are int64 zeros');
    t.equal(r.ldtype, '<i8', 'labels dtype');
    t.equal(r.offset, f.dataOffset, 'records where the writer put them');
    t.ok(f.aligned && r.offset % f.generator.config.dedupUnit === 0, `records at ${r.offset}, a dedup-unit multiple`);
    t.equal(r.sha, sha(f.generator.generateSync()), 'records bytes equal regeneration');
    for (const s of r.samples) seen.add(s);
    total += r.samples.length;
  }
  t.equal(seen.size, total, `all ${total} samples distinct`);
});

t.test('the same parameters give the same bytes in another process (HDF5 timestamps fixed)', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'a.hdf5');
  const f = await createHdf5File({ samples: 2, recordLength: 5000, seed: 8, objectId: 1 });
  await pipeline(f.stream(), createWriteStream(path));
  const script = `
import { createHdf5File } from ${JSON.stringify(new URL('../lib/formats/hdf5.ts', import.meta.url).href)};
const f = await createHdf5File({ samples: 2, recordLength: 5000, seed: 8, objectId: 1 });
const parts = []; for await (const c of f.stream()) parts.push(c);
process.stdout.write(Buffer.concat(parts).toString('base64'));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  t.equal(r.status, 0, r.stderr);
  t.ok(Buffer.from(r.stdout, 'base64').equals(readFileSync(path)), 'byte-identical');
});

t.test('ratios hold in the file', async (t) => {
  if (!hasTool('zstd')) return t.skip('zstd CLI missing');
  const dir = tempDir(t);
  for (const { d, c } of [
    { d: 1, c: 1 },
    { d: 2, c: 3 },
    { d: 4, c: 2 },
  ]) {
    const f = await createHdf5File({
      samples: 8,
      recordLength: 4 * 1024 * 1024,
      seed: 5,
      objectId: 2,
      dedupRatio: d,
      compressRatio: c,
    });
    const path = join(dir, `r-${d}-${c}.hdf5`);
    await pipeline(f.stream(), createWriteStream(path));
    const bytes = readFileSync(path);
    const measuredD = dedupRatio(bytes, 4096);
    const measuredC = toolRatio(['zstd', '-1', '-c'], path, bytes.length);
    t.comment(
      `hdf5 d=${d} c=${c}: dedup ${measuredD.toFixed(4)}, zstd-1 ${measuredC.toFixed(4)} (records at ${f.dataOffset}, file ${bytes.length})`,
    );
    t.ok(near(measuredD, d, 0.005), `dedup ${measuredD} within 0.5% of ${d}`);
    t.ok(near(measuredC, c, 0.05), `zstd -1 ${measuredC} within 5% of ${c}`);
  }
});

t.test('DLIO layout: train/ and valid/ with .hdf5 names that h5py opens', async (t) => {
  if (!hasH5py) return t.skip('python3-h5py missing (apt-get install python3-h5py)');
  const dir = tempDir(t);
  const r = await putFormatObjects(dir, {
    format: 'hdf5',
    count: 2,
    validCount: 1,
    seed: 2,
    formatOptions: { samples: 4, recordLength: 4096 },
  });
  t.same(readdirSync(join(dir, 'train')).sort(), ['img_0_of_2.hdf5', 'img_1_of_2.hdf5']);
  t.same(readdirSync(join(dir, 'valid')), ['img_0_of_1.hdf5']);
  const read = python<Read[]>(
    READ,
    r.files.map((f) => join(dir, f.name)),
  );
  t.equal(new Set(read.flatMap((x) => x.samples)).size, 12, 'all 12 samples distinct across splits');
});

t.test('bad parameters throw ERR_DGEN_INVALID_FORMAT synchronously, before any skeleton is built', async (t) => {
  const bad: [string, object][] = [
    ['samples', { samples: 0, recordLength: 1024 }],
    ['dtype', { dtype: 'float16', recordLength: 1024 }],
    ['dtype', { dtype: 'complex', recordLength: 1024 }],
    ['recordLength', { dtype: 'int32', recordLength: 1022 }],
    ['sampleShape', { sampleShape: [2, 2], recordLength: 1024 }],
    ['sampleShape', {}],
    ['samples', { samples: 2, recordLength: HDF5_MAX_DATASET }],
    ['size', { size: 1000 }],
  ];
  for (const [parameter, options] of bad) {
    t.throws(
      () => createHdf5File({ seed: 1, ...options }),
      { code: 'ERR_DGEN_INVALID_FORMAT', parameter },
      JSON.stringify(options),
    );
  }
});
