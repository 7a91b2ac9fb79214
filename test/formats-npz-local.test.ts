// NPZ files written by the native local writer (segments: headers as literal bytes, the array as a range of
// the generator's stream, ZIP CRC-32s patched in by the addon) equal the stream path's bytes, and
// independent readers take them: unzip -t and Python's zipfile check every member's CRC-32, numpy loads
// the arrays, @node-rs/crc32 checks the CRCs the addon returns. Bad segments are refused before anything is
// written; a failed file leaves nothing behind.
import t from 'tap';
import { crc32, crc32c } from '@node-rs/crc32';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNpzFile } from '../lib/formats/npz.js';
import { putFormatObjects } from '../lib/formats/put-format.js';
import { storedZipSegments } from '../lib/formats/zip-store.js';
import { writeLocalObjects } from '../lib/local-writer.js';
import { parseDataOptions } from '../lib/params.js';
import { hasTool } from './fixtures/helpers.js';
import { hasPythonModule, python, sha, tempDir } from './fixtures/python.js';

const CASES = [
  { samples: 1, recordLength: 3_000_001, seed: 1, compressRatio: 2 },
  { samples: 3, sampleShape: [17, 33], dtype: 'float32', seed: 7, dedupRatio: 2, objectId: 5 },
  { samples: 2, recordLength: 1 << 20, seed: 9, dedupUnit: 65536, objectId: 3 },
  { size: '5MiB', samples: 4, seed: 11, compressRatio: 3, dedupRatio: 2 },
  // A 128 KiB dedup unit: the padding goes into the ZIP local header's extra field.
  { samples: 1, recordLength: 9_000_000, seed: 2, dedupUnit: 131072 },
];

async function streamBytes(file: { stream(): AsyncIterable<Buffer> }): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of file.stream()) parts.push(b);
  return Buffer.concat(parts);
}

t.test(
  'native files equal the stream path byte for byte, at every chunk size; the returned CRC-32 is the member data',
  async (t) => {
    const dir = tempDir(t);
    for (const [i, c] of CASES.entries()) {
      const file = createNpzFile(c as never);
      const expected = await streamBytes(file);
      const { objectId, ...rest } = c as { objectId?: number };
      for (const chunkSize of [512 * 7, 1 << 20, 4 << 20]) {
        const path = join(dir, `${i}-${chunkSize}.npz`);
        const { segments, crc32Fields } = file.localSegments!();
        const [r] = await writeLocalObjects(
          parseDataOptions(rest as never),
          [{ objectId: objectId ?? 0, size: file.generator.size, path, segments, crc32Fields }],
          { chunkSize },
        );
        t.ok(r!.ok, `case ${i}, chunk ${chunkSize}: committed`);
        if (!r!.ok) continue;
        const got = readFileSync(path);
        t.equal(sha(got), sha(expected), `case ${i}, chunk ${chunkSize}: same bytes as stream()`);
        t.equal(r.size, expected.length, 'size is the file size');
        t.equal(r.crc32c, crc32c(got).toString(16).padStart(8, '0'), 'CRC-32C of the file (@node-rs/crc32)');
        const npyHeader = (segments[1] as Buffer).length;
        const member = got.subarray(file.layout.arrayOffset - npyHeader, file.layout.arrayOffset + file.layout.arrayBytes);
        t.same(r.crc32, [crc32(member)], 'the CRC-32 of x.npy (header and array) as @node-rs/crc32 computes it');
      }
    }
    t.same(
      readdirSync(dir).filter((n) => n.endsWith('.dgen-partial')),
      [],
      'no temporary file left',
    );
  },
);

t.test('unzip -t, Python zipfile (CRC-32 of every member) and numpy take the native files, ZIP64 too', async (t) => {
  const dir = tempDir(t);
  const paths: string[] = [];
  for (const [i, c] of CASES.entries()) {
    const file = createNpzFile(c as never);
    const { objectId, ...rest } = c as { objectId?: number };
    const path = join(dir, `${i}.npz`);
    const { segments, crc32Fields } = file.localSegments!();
    const [r] = await writeLocalObjects(parseDataOptions(rest as never), [
      { objectId: objectId ?? 0, size: file.generator.size, path, segments, crc32Fields },
    ]);
    t.ok(r!.ok);
    paths.push(path);
  }
  // A forced-ZIP64 archive of two generated members and a literal one, through the same writer.
  const zip64 = storedZipSegments(
    [
      { name: 'a.bin', parts: [Buffer.from('head'), { offset: 0, length: 1_000_000 }] },
      { name: 'b.bin', padding: 100, parts: [{ offset: 1_000_000, length: 777 }, Buffer.from('tail')] },
      { name: 'c.txt', parts: [Buffer.from('literal only')] },
    ],
    true,
  );
  const zpath = join(dir, 'z64.zip');
  const [z] = await writeLocalObjects(parseDataOptions({ seed: 3 }), [
    { objectId: 0, size: 1_000_777, path: zpath, segments: zip64.segments, crc32Fields: zip64.crc32Fields },
  ]);
  t.ok(z!.ok, 'ZIP64 archive committed');
  if (z!.ok) t.equal(z.size, zip64.size, 'its size as planned');
  if (hasTool('unzip')) {
    for (const p of [...paths, zpath]) {
      const u = spawnSync('unzip', ['-tq', p], { encoding: 'utf8' });
      t.equal(u.status, 0, `unzip -t ${p}: ${u.stdout.trim()}`);
    }
  } else t.comment('unzip missing: skipped');
  const checked = python<(string | null)[]>(
    'import sys, json, zipfile\nprint(json.dumps([zipfile.ZipFile(p).testzip() for p in sys.argv[1:]]))',
    [...paths, zpath],
  );
  t.same(checked, paths.map(() => null).concat([null]), 'zipfile.testzip finds no bad CRC');
  if (!hasPythonModule('numpy')) return t.comment('python3-numpy missing: numpy load skipped');
  const shapes = python<number[][]>(
    'import sys, json, numpy as np\nprint(json.dumps([list(np.load(p)["x"].shape) for p in sys.argv[1:]]))',
    paths,
  );
  t.same(
    shapes,
    CASES.map((c) => createNpzFile(c as never).layout.shape),
    'numpy.load reads x with its shape',
  );
});

t.test('putFormatObjects to a directory writes the same files as the stream path; no partial file after a failure', async (t) => {
  const dir = tempDir(t);
  const formatOptions = { samples: 2, recordLength: 1_500_000 };
  const r = await putFormatObjects(join(dir, 'native'), {
    format: 'npz',
    count: 5,
    validCount: 1,
    seed: 21,
    compressRatio: 2,
    formatOptions,
  });
  t.equal(r.files.length, 6);
  for (const f of r.files) {
    const expected = await streamBytes(createNpzFile({ ...formatOptions, seed: 21, compressRatio: 2, objectId: f.objectId }));
    const got = readFileSync(join(dir, 'native', f.name));
    t.equal(sha(got), sha(expected), `${f.name}: same bytes as stream()`);
    t.equal(f.crc32c, crc32c(got).toString(16).padStart(8, '0'), `${f.name}: CRC-32C`);
  }
  // A destination that is a directory: the rename fails, the file's put fails, nothing partial stays.
  const bad = join(dir, 'bad');
  mkdirSync(join(bad, 'train', 'img_0_of_1.npz'), { recursive: true });
  mkdirSync(join(bad, 'train', 'img_0_of_1.npz', 'x'));
  await t.rejects(putFormatObjects(bad, { format: 'npz', count: 1, seed: 1, formatOptions, manifest: false }), {
    syscall: 'rename',
  });
  t.same(
    readdirSync(join(bad, 'train')).filter((n) => n.endsWith('.dgen-partial')),
    [],
    'no temporary file left',
  );
});

t.test('bad segments are refused before anything is written', async (t) => {
  const dir = tempDir(t);
  const data = parseDataOptions({ seed: 1 });
  const path = join(dir, 'f');
  t.throws(
    () => writeLocalObjects(data, [{ objectId: 0, size: 10, path, segments: [{ offset: 0, length: 10 }] }], { direct: true }),
    { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'direct' },
  );
  t.throws(() => writeLocalObjects(data, [{ objectId: 0, size: 10, path, segments: [{ offset: 5, length: 6 }] }]), RangeError);
  t.throws(
    () =>
      writeLocalObjects(data, [
        {
          objectId: 0,
          size: 10,
          path,
          segments: [{ offset: 0, length: 10 }, Buffer.alloc(3)],
          crc32Fields: [{ first: 0, end: 1, at: [[1, 0]] }],
        },
      ]),
    RangeError,
    'a CRC-32 field that does not fit its segment',
  );
  t.throws(
    () =>
      writeLocalObjects(data, [
        {
          objectId: 0,
          size: 10,
          path,
          segments: [Buffer.alloc(8), { offset: 0, length: 10 }],
          crc32Fields: [{ first: 0, end: 2, at: [[0, 0]] }],
        },
      ]),
    RangeError,
    'a CRC-32 field inside its own range',
  );
  t.same(readdirSync(dir), [], 'nothing created');
});
