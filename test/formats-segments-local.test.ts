// safetensors and HDF5 files laid out by segments (literal header/skeleton bytes around one range of the
// generator's stream): a put to a directory goes through the native local writer and gives the bytes the
// stream path gives (the FormatFile's stream(), hashed here), at two sizes and an odd one; the independent
// readers of the format tests take them (Python json + numpy for safetensors, h5py for HDF5); verify
// checks them on the worker pool and reports a byte flipped in the header, the data (and HDF5's tail) as a
// mismatch at exactly that offset.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { formatObjectFor, putFormatObjects } from '../lib/formats/put-format.js';
import { verifyObjects } from '../lib/index.js';
import { hasPythonModule, python, sha, tempDir } from './fixtures/python.js';
import { flip, verdicts } from './fixtures/verify-verdicts.js';

const data = { seed: 17, dedupRatio: 2, compressRatio: 2 };

const CASES = [
  { format: 'safetensors', formatOptions: { size: 3 * 1024 * 1024, layers: 2 } },
  { format: 'safetensors', formatOptions: { size: 9 * 1024 * 1024, layers: 3, dtype: 'float32' }, dedupUnit: 65536 },
  // Odd: a uint8 tensor of an odd number of bytes, so the file ends off any chunk or unit boundary.
  { format: 'safetensors', formatOptions: { tensors: [{ name: 'w', dtype: 'uint8', shape: [1001, 1003] }] } },
  { format: 'hdf5', formatOptions: { samples: 2, recordLength: 1024 * 1024 } },
  { format: 'hdf5', formatOptions: { samples: 3, recordLength: 3 * 1024 * 1024, dtype: 'uint16' }, dedupUnit: 65536 },
  { format: 'hdf5', formatOptions: { samples: 5, sampleShape: [1001, 999] } },
] as const;

async function streamBytes(s: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of s) parts.push(b);
  return Buffer.concat(parts);
}

const SAFETENSORS_READ = `
import sys, json, struct, hashlib, numpy as np
NP = {'F32': '<f4', 'U8': 'u1'}
out = []
for path in sys.argv[1:]:
    b = open(path, 'rb').read()
    (n,) = struct.unpack_from('<Q', b, 0)
    header = json.loads(b[8:8+n].decode('utf-8'))
    header.pop('__metadata__', None)
    buf = b[8+n:]
    tensors = {}
    for k, v in header.items():
        d = buf[v['data_offsets'][0]:v['data_offsets'][1]]
        shape = list(np.frombuffer(d, dtype=NP[v['dtype']]).reshape(v['shape']).shape) if v['dtype'] in NP else None
        tensors[k] = {'shape': v['shape'], 'np_shape': shape, 'sha': hashlib.sha256(d).hexdigest()}
    out.append({'data_offset': 8 + n, 'end': max(v['data_offsets'][1] for v in header.values()), 'tensors': tensors})
print(json.dumps(out))
`;

const HDF5_READ = `
import sys, json, hashlib, h5py, numpy as np
out = []
for path in sys.argv[1:]:
    with h5py.File(path, 'r') as f:
        r = f['records']
        out.append({'shape': list(r.shape), 'offset': r.id.get_offset(), 'labels': f['labels'].shape[0],
                    'sha': hashlib.sha256(np.ascontiguousarray(r[()]).tobytes()).hexdigest()})
print(json.dumps(out))
`;

for (const [i, c] of CASES.entries()) {
  const reader = c.format === 'hdf5' ? 'h5py' : 'numpy';
  t.test(`${c.format} case ${i}: native put equals stream(), ${reader} reads it, verify finds flipped bytes`, async (t) => {
    const dir = tempDir(t);
    const options = { ...data, ...('dedupUnit' in c && { dedupUnit: c.dedupUnit }) };
    const first = await formatObjectFor(c.format, 0, { ...options, seed: data.seed }, c.formatOptions);
    t.ok(first.localSegments, 'the format has local segments (so the put takes the native path)');
    const put = await putFormatObjects(dir, {
      format: c.format,
      count: 2,
      validCount: 1,
      ...options,
      formatOptions: c.formatOptions,
    });
    t.equal(put.files.length, 3);
    const paths: string[] = [];
    for (const f of put.files) {
      const file = await formatObjectFor(c.format, f.objectId, options, c.formatOptions);
      const expected = await streamBytes(file.stream());
      const path = join(dir, f.name);
      const got = readFileSync(path);
      t.equal(got.length, file.size, `${f.name}: ${file.size} bytes`);
      t.equal(sha(got), sha(expected), `${f.name}: same sha256 as stream()`);
      t.equal(f.crc32c, crc32c(got).toString(16).padStart(8, '0'), `${f.name}: CRC-32C (@node-rs/crc32)`);
      paths.push(path);
    }
    const sizes = put.files.map((f) => f.size);
    const dataOffset = (first as unknown as { dataOffset: number }).dataOffset;

    if (c.format === 'safetensors') {
      if (!hasPythonModule('numpy')) t.comment('python3-numpy missing: reader skipped');
      else {
        const read = python<
          { data_offset: number; end: number; tensors: Record<string, { shape: number[]; np_shape: number[] | null }> }[]
        >(SAFETENSORS_READ, paths);
        for (const [k, r] of read.entries()) {
          t.equal(r.data_offset, dataOffset, `${put.files[k]!.name}: json header ends where the data starts`);
          t.equal(r.data_offset + r.end, sizes[k], 'the tensors cover the rest of the file');
          for (const [name, tensor] of Object.entries(r.tensors))
            if (tensor.np_shape) t.same(tensor.np_shape, tensor.shape, `${name} loads with numpy`);
        }
      }
    } else if (!hasPythonModule('h5py')) t.comment('python3-h5py missing: reader skipped');
    else {
      const read = python<{ shape: number[]; offset: number; labels: number; sha: string }[]>(HDF5_READ, paths);
      const shape = (first as unknown as { shape: number[] }).shape;
      for (const [k, r] of read.entries()) {
        t.same(r.shape, shape, `${put.files[k]!.name}: h5py opens records with its shape`);
        t.equal(r.offset, dataOffset, 'records at the planned offset');
        t.equal(r.labels, shape[0], 'labels: one per sample');
        const got = readFileSync(paths[k]!);
        t.equal(r.sha, sha(got.subarray(dataOffset, dataOffset + first.generator.size)), 'records are the generated range');
      }
    }

    const checked: string[] = [];
    const ok = await verifyObjects({ target: dir, onObject: (r) => checked.push(`${r.name}:${r.status}:${r.check}`) });
    t.equal(ok.ok, 3, 'every file verifies');
    t.same(checked.sort(), put.files.map((f) => `${f.name}:ok:bytes`).sort(), 'compared byte for byte');

    // A header byte, a data byte (odd offset, in the last chunk) and, for HDF5, a tail byte.
    const header = c.format === 'safetensors' ? 20 : 100;
    const inData = dataOffset + first.generator.size - 3;
    flip(paths[0]!, header);
    flip(paths[1]!, inData);
    const expected: Record<string, string> = {
      [put.files[0]!.name]: `mismatch@${header}`,
      [put.files[1]!.name]: `mismatch@${inData}`,
    };
    if (c.format === 'hdf5') {
      flip(paths[2]!, sizes[2]! - 5);
      expected[put.files[2]!.name] = `mismatch@${sizes[2]! - 5}`;
    }
    const bad = await verifyObjects({ target: dir });
    t.same(verdicts(bad), expected, 'each flipped byte reported at its offset');
    t.ok(
      bad.mismatches.every((m) => m.check === 'bytes'),
      'judged byte for byte',
    );
  });
}
