// TFRecord files read record by record by Python (/usr/bin/python3): lengths and masked CRC-32Cs checked
// with Debian's python3-crcmod, each Example decoded by a protobuf wire-format decoder written here in
// Python (independent of protobufjs, which writes them): features image/size(/pad), image bytes equal to
// regeneration, every image of every file distinct, image offsets on the dedup unit; the DALI index
// lines; ratios measured on the file by fixed-chunk hashing and the zstd CLI; typed errors.
import t from 'tap';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createTfrecordFile } from '../lib/formats/tfrecord.js';
import { createGenerator } from '../lib/generator.js';
import { dedupRatio, hasTool, near, toolRatio } from './fixtures/helpers.js';
import { hasPythonModule, python, sha, tempDir } from './fixtures/python.js';

const hasCrcmod = hasPythonModule('crcmod.predefined');

// Reads every record, checks both masked CRC-32Cs and decodes tf.train.Example from the wire format.
const READ = `
import sys, json, struct, hashlib, crcmod.predefined
crc32c = crcmod.predefined.mkCrcFun('crc-32c')
def masked(b):
    c = crc32c(b)
    return (((c >> 15) | (c << 17)) + 0xa282ead8) & 0xffffffff
def varint(b, i):
    n = s = 0
    while True:
        x = b[i]; i += 1
        n |= (x & 0x7f) << s; s += 7
        if x < 0x80: return n, i
def fields(b):
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 2:
            n, i = varint(b, i); out.append((num, b[i:i+n], i)); i += n
        elif wt == 0:
            v, i = varint(b, i); out.append((num, v, None))
        else: raise ValueError('wire type %d' % wt)
    return out
def example(b):
    feats = {}
    for num, features, _ in fields(b):
        assert num == 1
        for num2, entry, _ in fields(features):
            assert num2 == 1
            key = value = None
            for num3, v, _ in fields(entry):
                if num3 == 1: key = v.decode()
                elif num3 == 2: value = v
            (kind, lst, _), = fields(value)
            if kind == 1:
                vals = [v for n, v, _ in fields(lst)]
                feats[key] = ('bytes', [len(v) for v in vals], [hashlib.sha256(v).hexdigest() for v in vals])
            elif kind == 3:
                vals = []
                for n, v, _ in fields(lst):
                    if isinstance(v, int): vals.append(v)
                    else:
                        j = 0
                        while j < len(v):
                            x, j = varint(v, j); vals.append(x)
                feats[key] = ('int64', vals)
    return feats
out = []
for path in sys.argv[1:]:
    b = open(path, 'rb').read()
    i, recs = 0, []
    while i < len(b):
        (n,) = struct.unpack_from('<Q', b, i)
        (lc,) = struct.unpack_from('<I', b, i + 8)
        assert lc == masked(b[i:i+8]), 'length crc'
        data = b[i+12:i+12+n]
        (dc,) = struct.unpack_from('<I', b, i + 12 + n)
        assert dc == masked(data), 'data crc'
        f = example(data)
        recs.append({'offset': i, 'length': 12 + n + 4, 'features': f})
        i += 12 + n + 4
    out.append(recs)
print(json.dumps(out))
`;

type Feature = ['bytes', number[], string[]] | ['int64', number[]];
type Rec = { offset: number; length: number; features: Record<string, Feature> };

t.test('every record reads with valid CRCs, features image/size, images equal regeneration and distinct', async (t) => {
  if (!hasCrcmod) return t.skip('python3-crcmod missing (apt-get install python3-crcmod)');
  const dir = tempDir(t);
  const cases = [
    { samples: 5, recordLength: 150_000 }, // resnet50-like (DLIO: 1251 records of ~110 KiB per file)
    { samples: 2, recordLength: 2_828_486 }, // cosmoflow-like record length
    { samples: 3, recordLength: 100, dedupUnit: 512 },
    { samples: 4, recordLength: 5000, align: false },
  ];
  const files = [];
  const paths: string[] = [];
  for (const [i, c] of cases.entries()) {
    for (const objectId of [0, 1]) {
      const f = createTfrecordFile({ ...c, seed: 11, objectId: i * 2 + objectId, compressRatio: 2 });
      const path = join(dir, `img_${i * 2 + objectId}_of_${cases.length * 2}.tfrecord`);
      await pipeline(f.stream(), createWriteStream(path));
      t.equal(statSync(path).size, f.size, 'size computed up front');
      files.push({ f, c });
      paths.push(path);
    }
  }
  const read = python<Rec[][]>(READ, paths);
  const images = new Set<string>();
  let total = 0;
  for (const [k, { f, c }] of files.entries()) {
    const recs = read[k]!;
    t.equal(recs.length, c.samples, 'record count');
    const index = recs.map((r) => `${r.offset} ${r.length}\n`).join('');
    t.equal(f.indexText(), index, 'DALI index lines: offset and length of each record');
    for (const [i, r] of recs.entries()) {
      const img = r.features.image!;
      t.same([img[0], img[1]], ['bytes', [c.recordLength]], 'image: one bytes value of recordLength');
      t.equal(img[2]![0], sha(f.sample(i)), 'image bytes equal regeneration');
      const full = Math.floor(c.recordLength / (c.dedupUnit ?? 4096)) * (c.dedupUnit ?? 4096);
      const raw = createGenerator(f.generator.spec());
      t.equal(
        sha(f.sample(i).subarray(0, full)),
        sha(raw.generateSync().subarray(i * full, (i + 1) * full)),
        'whole units are the raw object of the same seed and id',
      );
      t.same(r.features.size, ['int64', [Math.floor(Math.sqrt(c.recordLength))]], 'size feature');
      t.equal('pad' in r.features, c.align !== false, 'pad feature only when aligned');
      const place = f.record(i);
      t.same([place.offset, place.length], [r.offset, r.length], 'record() agrees');
      if (c.align !== false) t.equal(place.imageOffset % f.generator.config.dedupUnit, 0, 'image on a dedup-unit multiple');
      images.add(img[2]![0]!);
      total++;
    }
  }
  t.equal(images.size, total, `all ${total} images of all files distinct`);
});

t.test('ratios hold in the file (resnet50-like records, 4 KiB units)', async (t) => {
  if (!hasTool('zstd')) return t.skip('zstd CLI missing');
  const dir = tempDir(t);
  for (const { d, c, recordLength } of [
    { d: 1, c: 1, recordLength: 114_688 },
    { d: 2, c: 3, recordLength: 114_688 },
    { d: 2, c: 3, recordLength: 110_000 },
    { d: 3, c: 2, recordLength: 2_828_486 },
  ]) {
    const samples = Math.ceil((32 * 1024 * 1024) / recordLength);
    const f = createTfrecordFile({ samples, recordLength, seed: 5, objectId: 3, dedupRatio: d, compressRatio: c });
    const path = join(dir, `r-${d}-${c}-${recordLength}.tfrecord`);
    await pipeline(f.stream(), createWriteStream(path));
    const bytes = readFileSync(path);
    const measuredD = dedupRatio(bytes, 4096);
    const measuredC = toolRatio(['zstd', '-1', '-c'], path, bytes.length);
    // Each record adds one unit that is not a whole generated unit: the one holding the previous image's
    // tail, the CRCs, the next record's head and its padding (or the padding alone when recordLength is a
    // unit multiple). Expected dedup: units / (unique units + one per record).
    const units = Math.ceil(bytes.length / 4096);
    const payloadUnits = samples * Math.floor(recordLength / 4096);
    const expected = units / (Math.round(payloadUnits / d) + (units - payloadUnits));
    t.comment(
      `tfrecord S=${recordLength} d=${d} c=${c}: dedup ${measuredD.toFixed(4)} (framing bound ${expected.toFixed(4)}), zstd-1 ${measuredC.toFixed(4)}`,
    );
    t.ok(near(measuredD, expected, 0.02), `dedup ${measuredD} within 2% of ${expected}`);
    t.ok(near(measuredD, d, recordLength > 1e6 ? 0.01 : 0.05), `dedup ${measuredD} near requested ${d}`);
    // The padding zeros compress away: expected ratio = file bytes / (payload bytes / c).
    const expectedC = bytes.length / ((samples * recordLength) / c);
    t.comment(`  zstd-1 expected with free padding ${expectedC.toFixed(4)}`);
    t.ok(near(measuredC, expectedC, 0.05), `zstd -1 ${measuredC} within 5% of ${expectedC}`);
  }
});

t.test('size derives the record length', async (t) => {
  const f = createTfrecordFile({ size: 8 * 1024 * 1024, samples: 16, seed: 1 });
  t.ok(f.size <= 8 * 1024 * 1024 && f.size > 8 * 1024 * 1024 - 16 * 4096, `file ${f.size}, record ${f.recordLength}`);
});

t.test('bad parameters throw ERR_DGEN_INVALID_FORMAT', async (t) => {
  const bad: [string, object][] = [
    ['samples', { samples: 0, recordLength: 1024 }],
    ['samples', { samples: 1.5, recordLength: 1024 }],
    ['recordLength', { recordLength: 0 }],
    ['recordLength', { recordLength: 3 * 1024 ** 3 }],
    ['recordLength', {}],
    ['sizeFeature', { recordLength: 10, sizeFeature: 'x' }],
    ['align', { recordLength: 10, align: 'yes' }],
    ['size', { size: 10, samples: 4 }],
  ];
  for (const [parameter, options] of bad) {
    t.throws(
      () => createTfrecordFile({ seed: 1, ...options }),
      { code: 'ERR_DGEN_INVALID_FORMAT', parameter },
      JSON.stringify(options),
    );
  }
});
