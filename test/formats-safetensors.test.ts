// safetensors files parsed in Python (/usr/bin/python3) by the format's header rules (8-byte little-endian
// length, JSON starting with '{' padded only with trailing spaces, data_offsets contiguous from 0 to the end
// of the file, byte length = dtype size x elements), tensors loaded with numpy.frombuffer where NumPy has
// the dtype, bytes equal regeneration, tensors of all shards distinct; ratios by fixed-chunk hashing and the
// zstd CLI; typed errors.
import t from 'tap';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createSafetensorsFile, safetensorsIndex } from '../lib/formats/safetensors.js';
import { createGenerator } from '../lib/generator.js';
import { dedupRatio, hasTool, near, toolRatio } from './fixtures/helpers.js';
import { hasPythonModule, python, sha, tempDir } from './fixtures/python.js';

const hasNumpy = hasPythonModule('numpy');

const READ = `
import sys, json, struct, hashlib, numpy as np
SIZES = {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4, 'I16': 2, 'I8': 1, 'U64': 8, 'U32': 4, 'U16': 2, 'U8': 1}
NP = {'F64': '<f8', 'F32': '<f4', 'F16': '<f2', 'I64': '<i8', 'I32': '<i4', 'I16': '<i2', 'I8': 'i1', 'U64': '<u8', 'U32': '<u4', 'U16': '<u2', 'U8': 'u1'}
out = []
for path in sys.argv[1:]:
    b = open(path, 'rb').read()
    (n,) = struct.unpack_from('<Q', b, 0)
    assert n <= 100000000
    raw = b[8:8+n]
    assert raw[:1] == b'{', 'header starts with {'
    text = raw.decode('utf-8')
    assert text == text.rstrip(' ') + ' ' * (len(text) - len(text.rstrip(' '))), 'only trailing spaces'
    header = json.loads(text)
    meta = header.pop('__metadata__', None)
    buf = b[8+n:]
    spans = sorted((v['data_offsets'][0], v['data_offsets'][1], k) for k, v in header.items())
    pos = 0
    for begin, end, k in spans:
        assert begin == pos, 'no holes'
        v = header[k]
        count = 1
        for d in v['shape']: count *= d
        assert end - begin == count * SIZES[v['dtype']], 'length matches dtype and shape'
        pos = end
    assert pos == len(buf), 'buffer fully indexed'
    tensors = {}
    for k, v in header.items():
        data = buf[v['data_offsets'][0]:v['data_offsets'][1]]
        shape = None
        if v['dtype'] in NP:
            shape = list(np.frombuffer(data, dtype=NP[v['dtype']]).reshape(v['shape']).shape)
        tensors[k] = {'dtype': v['dtype'], 'shape': v['shape'], 'np_shape': shape, 'sha': hashlib.sha256(data).hexdigest()}
    out.append({'metadata': meta, 'data_offset': 8 + n, 'tensors': tensors})
print(json.dumps(out))
`;

type Read = {
  metadata: Record<string, string>;
  data_offset: number;
  tensors: Record<string, { dtype: string; shape: number[]; np_shape: number[] | null; sha: string }>;
};

t.test('shards parse by the spec rules, tensors equal regeneration and are distinct across shards', async (t) => {
  if (!hasNumpy) return t.skip('python3-numpy missing (apt-get install python3-numpy)');
  const dir = tempDir(t);
  const shards = 4;
  const files = [];
  const paths: string[] = [];
  for (let i = 0; i < shards; i++) {
    const f =
      i < 2
        ? createSafetensorsFile({
            size: 3 * 1024 * 1024 + i * 777,
            layers: 3,
            firstLayer: i * 3,
            seed: 21,
            objectId: i,
            compressRatio: 2,
          })
        : createSafetensorsFile({
            seed: 21,
            objectId: i,
            dedupUnit: 8192,
            tensors: [
              { name: `blk.${i}.attn.weight`, dtype: 'float16', shape: [64, 48] },
              { name: `blk.${i}.attn.bias`, dtype: 'float32', shape: [48] },
              { name: `blk.${i}.scale`, dtype: 'float64', shape: [] },
              { name: `blk.${i}.emb`, dtype: 'int8', shape: [3, 5, 7] },
            ],
          });
    const name = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const path = join(dir, name);
    await pipeline(f.stream(), createWriteStream(path));
    t.equal(statSync(path).size, f.size, 'size computed up front');
    if (i < 2)
      t.ok(
        f.size <= 3 * 1024 * 1024 + i * 777 && f.size > 3 * 1024 * 1024 + i * 777 - 8,
        `size fills the asked size (${f.size})`,
      );
    files.push({ name, file: f });
    paths.push(path);
  }
  const index = JSON.parse(safetensorsIndex(files)) as { metadata: { total_size: number }; weight_map: Record<string, string> };
  const read = python<Read[]>(READ, paths);
  const seen = new Set<string>();
  let total = 0;
  for (const [k, { name, file }] of files.entries()) {
    const r = read[k]!;
    t.same(r.metadata, { format: 'pt' }, '__metadata__');
    t.equal(r.data_offset, file.dataOffset, 'data offset');
    t.equal(r.data_offset % file.generator.config.dedupUnit, 0, 'byte buffer on a dedup-unit multiple');
    const raw = createGenerator(file.generator.spec()).generateSync();
    for (const tensor of file.tensors) {
      const got = r.tensors[tensor.name]!;
      t.same(got.shape, tensor.shape, `${tensor.name} shape`);
      if (got.np_shape) t.same(got.np_shape, tensor.shape, `${tensor.name} loads with numpy`);
      t.equal(got.sha, sha(raw.subarray(...tensor.dataOffsets)), `${tensor.name} bytes equal regeneration`);
      t.equal(index.weight_map[tensor.name], name, 'index names the shard');
      seen.add(got.sha);
      total++;
    }
  }
  t.equal(seen.size, total, `all ${total} tensors distinct`);
  t.equal(Object.keys(index.weight_map).length, total, 'index lists every tensor once');
});

t.test('ratios hold in the file', async (t) => {
  if (!hasTool('zstd')) return t.skip('zstd CLI missing');
  const dir = tempDir(t);
  for (const { d, c } of [
    { d: 1, c: 1 },
    { d: 2, c: 3 },
    { d: 5, c: 1.5 },
  ]) {
    const f = createSafetensorsFile({
      size: 32 * 1024 * 1024,
      layers: 24,
      seed: 8,
      objectId: 1,
      dedupRatio: d,
      compressRatio: c,
    });
    const path = join(dir, `r-${d}-${c}.safetensors`);
    await pipeline(f.stream(), createWriteStream(path));
    const bytes = readFileSync(path);
    const measuredD = dedupRatio(bytes, 4096);
    const measuredC = toolRatio(['zstd', '-1', '-c'], path, bytes.length);
    t.comment(
      `safetensors d=${d} c=${c}: dedup ${measuredD.toFixed(4)}, zstd-1 ${measuredC.toFixed(4)} (header ${f.dataOffset} bytes)`,
    );
    t.ok(near(measuredD, d, 0.005), `dedup ${measuredD} within 0.5% of ${d}`);
    t.ok(near(measuredC, c, 0.05), `zstd -1 ${measuredC} within 5% of ${c}`);
  }
});

t.test('bad parameters throw ERR_DGEN_INVALID_FORMAT', async (t) => {
  const tensor = { name: 'a', dtype: 'float32', shape: [2] };
  const bad: [string, object][] = [
    ['tensors', { tensors: [] }],
    ['tensors', {}],
    ['tensors[1].name', { tensors: [tensor, tensor] }],
    ['tensors[0].name', { tensors: [{ ...tensor, name: '__metadata__' }] }],
    ['tensors[0].dtype', { tensors: [{ ...tensor, dtype: 'complex64' }] }],
    ['tensors[0].shape', { tensors: [{ ...tensor, shape: [2, 0] }] }],
    ['layers', { size: 1 << 20, layers: 0 }],
    ['dtype', { size: 1 << 20, dtype: 'bool' }],
    ['size', { size: 100, layers: 2 }],
    ['metadata', { tensors: [tensor], metadata: { a: 1 } }],
  ];
  for (const [parameter, options] of bad) {
    t.throws(
      () => createSafetensorsFile({ seed: 1, ...options }),
      { code: 'ERR_DGEN_INVALID_FORMAT', parameter },
      JSON.stringify(options),
    );
  }
});
