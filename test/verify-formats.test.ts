// verify of format manifests (dgen put --format): every file compared with the file its format writer
// makes again, in a directory and on S3 (s3rver on 127.0.0.1). Damage is done by hand to real files and
// objects (a flipped byte, a truncation, a deletion) and each verdict is checked against what was done;
// CRC-32C values in the test come from @node-rs/crc32, not from our code.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { crc32c } from '@node-rs/crc32';
import { createS3Client, putFormatObjects, verifyObjects, type VerifyReport } from '../lib/index.js';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, startS3rver } from './fixtures/servers.js';
import { tempDir } from './fixtures/python.js';
import { flip, verdicts } from './fixtures/verify-verdicts.js';

const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));
const dgen = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });

const data = { seed: 11, dedupRatio: 2, compressRatio: 2 };

t.test('npz in a directory: intact, flipped byte (header and payload), truncated, deleted; the CLI exits 1', async (t) => {
  const dir = tempDir(t);
  const put = await putFormatObjects(dir, {
    format: 'npz',
    count: 4,
    validCount: 1,
    ...data,
    formatOptions: { samples: 2, recordLength: 40000 },
  });
  const names = put.files.map((f) => f.name);
  const size = put.files[0]!.size;
  const checked: string[] = [];
  const ok = await verifyObjects({ target: dir, onObject: (r) => checked.push(`${r.name}:${r.status}:${r.check}`) });
  t.equal(ok.objects, 5);
  t.equal(ok.ok, 5, 'every file of the run verifies');
  t.equal(ok.bytes, 5 * size);
  t.equal(ok.extraObjects, 0);
  t.equal(ok.fileFormat, 'npz');
  t.equal(ok.crc32cOnly, 0);
  t.same(checked.sort(), names.map((n) => `${n}:ok:bytes`).sort(), 'each compared byte for byte with its regeneration');
  const cli = dgen('verify', dir);
  t.equal(cli.status, 0, cli.stderr);
  t.match(cli.stdout, /5 of 5 objects match/);

  // A byte in the NPY/ZIP framing of one file, a byte near the end (payload) of another.
  flip(join(dir, names[0]!), 40);
  flip(join(dir, names[1]!), size - 7);
  truncateSync(join(dir, names[2]!), size - 1000);
  rmSync(join(dir, names[3]!));
  const bad = await verifyObjects({ target: dir });
  t.equal(bad.objects, 5);
  t.equal(bad.ok, 1, 'the untouched file is still ok');
  t.same(verdicts(bad), {
    [names[0]!]: 'mismatch@40',
    [names[1]!]: `mismatch@${size - 7}`,
    [names[2]!]: `size ${size - 1000}/${size}`,
    [names[3]!]: 'missing',
  });
  t.equal(bad.mismatches[0]!.check, 'bytes');
  const failed = dgen('verify', dir);
  t.equal(failed.status, 1, 'the CLI exits 1');
  t.match(failed.stdout, /1 of 5 objects match/);
  t.match(failed.stdout, new RegExp(`MISMATCH .*${names[1]!.replace('.', '\\.')}: first differing byte at offset ${size - 7}`));
  t.match(failed.stdout, new RegExp(`SIZE .*${names[2]!.replace('.', '\\.')}: ${size - 1000} bytes, expected ${size}`));
  t.match(failed.stdout, new RegExp(`MISSING .*${names[3]!.replace('.', '\\.')}`));
  const given = dgen('verify', dir, '--manifest', join(dir, 'dgen-manifest.json'));
  t.equal(given.status, 1, 'the same with --manifest');
  t.match(given.stdout, /1 of 5 objects match/);
  const json = dgen('verify', dir, '--json');
  t.equal(json.status, 1);
  t.same(verdicts(JSON.parse(json.stdout) as VerifyReport), verdicts(bad), '--json reports the same');

  // A longer file (one byte appended) is a size mismatch too.
  writeFileSync(join(dir, names[4]!), Buffer.concat([readFileSync(join(dir, names[4]!)), Buffer.from([0])]));
  const longer = await verifyObjects({ target: dir });
  t.equal(verdicts(longer)[names[4]!], `size ${size + 1}/${size}`);
});

t.test('tfrecord in DLIO layout: files and their index files, each damaged', async (t) => {
  const dir = tempDir(t);
  const put = await putFormatObjects(dir, {
    format: 'tfrecord',
    count: 3,
    ...data,
    formatOptions: { samples: 4, recordLength: 5000 },
  });
  const names = put.files.map((f) => f.name);
  const size = put.files[0]!.size;
  const ok = await verifyObjects({ target: dir });
  t.equal(ok.objects, 6, 'three files and their three index files');
  t.equal(ok.ok, 6);
  t.equal(ok.extraObjects, 0, 'the index files are not extras');
  flip(join(dir, names[0]!), 20_000);
  truncateSync(join(dir, names[1]!), 100);
  const idx = join(dir, 'index', `${names[2]!}.idx`);
  const text = readFileSync(idx);
  flip(idx, text.length - 2);
  const bad = await verifyObjects({ target: dir });
  t.same(verdicts(bad), {
    [names[0]!]: 'mismatch@20000',
    [names[1]!]: `size 100/${size}`,
    [`index/${names[2]!}.idx`]: `mismatch@${text.length - 2}`,
  });
  t.equal(bad.ok, 3);
  rmSync(idx);
  t.equal(verdicts(await verifyObjects({ target: dir }))[`index/${names[2]!}.idx`], 'missing');
  // A file the manifest does not list is an extra; an index of a listed file is not.
  writeFileSync(join(dir, 'index', 'train', 'other.tfrecord.idx'), '0 10\n');
  const extras = await verifyObjects({ target: dir });
  t.same(
    extras.extras?.map((x) => x.name),
    ['index/train/other.tfrecord.idx'],
  );
});

t.test('a zstd-compressed safetensors run: files decompressed, then compared', async (t) => {
  const dir = tempDir(t);
  const put = await putFormatObjects(dir, {
    format: 'safetensors',
    count: 2,
    layout: 'flat',
    ...data,
    formatOptions: { size: 300_000 },
    sink: { compression: 'zstd' },
  });
  const ok = await verifyObjects({ target: dir });
  t.equal(ok.ok, 2, `${JSON.stringify(verdicts(ok))}`);
  t.equal(ok.bytes, put.files[0]!.size * 2, 'bytes of the files uncompressed');
  rmSync(join(dir, put.files[1]!.name));
  t.same(verdicts(await verifyObjects({ target: dir })), { [put.files[1]!.name]: 'missing' });
});

t.test('a record whose CRC-32C this version does not make: judged by the CRC-32C alone, said so', async (t) => {
  const dir = tempDir(t);
  const put = await putFormatObjects(dir, {
    format: 'npz',
    count: 2,
    layout: 'flat',
    ...data,
    formatOptions: { samples: 1, recordLength: 8192 },
  });
  const [a, b] = put.files.map((f) => f.name) as [string, string];
  // File a changed on disk and its record changed to match (as a different writer version would have
  // written it); file b's record changed alone (the file no longer matches its record).
  flip(join(dir, a), 100);
  const aCrc = crc32c(readFileSync(join(dir, a)))
    .toString(16)
    .padStart(8, '0');
  const records = join(dir, 'dgen-manifest.records.ndjson');
  const lines = readFileSync(records, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as { name: string; crc32c: string });
  for (const r of lines) r.crc32c = r.name === a ? aCrc : '00000000';
  writeFileSync(records, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const results = new Map<string, { status: string; check?: string; offset?: number; note?: string }>();
  const report = await verifyObjects({ target: dir, onObject: (r) => results.set(r.name, r) });
  t.match(results.get(a), { status: 'ok', check: 'crc32c', note: /the file is judged by the record alone/ });
  t.match(results.get(b), { status: 'mismatch', check: 'crc32c', note: /differs from its record's/ });
  t.equal(results.get(b)!.offset, undefined, 'no offset: the regeneration is not the recorded file');
  t.equal(report.ok, 1);
  t.equal(report.crc32cOnly, 2, 'the report counts the files judged by CRC-32C alone');
  const cli = dgen('verify', dir);
  t.equal(cli.status, 1);
  t.match(cli.stdout, new RegExp(`MISMATCH .*${b.replace('.', '\\.')}: CRC-32C [0-9a-f]{8} differs from its record's`));
  t.equal(report.fileFormat, 'npz');
});

t.test('format manifests verify cannot make the files of: a typed error, no report', async (t) => {
  const dir = tempDir(t);
  await putFormatObjects(dir, { format: 'npz', count: 2, ...data, formatOptions: { samples: 1, recordLength: 8192 } });
  const path = join(dir, 'dgen-manifest.json');
  const original = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> & {
    fileFormat: Record<string, unknown>;
  };
  const cases: [string, (m: typeof original) => void, string][] = [
    ['no formatOptions (an older manifest)', (m) => delete m.fileFormat.formatOptions, 'fileFormat.formatOptions'],
    ['formatOptions without the parameters', (m) => (m.fileFormat.formatOptions = {}), 'fileFormat.formatOptions'],
    ['an unknown format', (m) => (m.fileFormat.format = 'npy'), 'fileFormat.format'],
    ['fileFormat not an object', (m) => (m.fileFormat = 'npz' as never), 'fileFormat'],
    ['a size this version does not make', (m) => (m.size = '12345'), 'size'],
    ['dataset dedup scope', (m) => ((m.dedupScope = 'dataset'), (m.datasetUnits = 10)), 'dedupScope'],
  ];
  for (const [what, edit, field] of cases) {
    const m = structuredClone(original);
    edit(m);
    writeFileSync(path, JSON.stringify(m));
    await t.rejects(verifyObjects({ target: dir }), { code: 'ERR_DGEN_MANIFEST_UNSUPPORTED', field }, what);
  }
  // A record of another size than the files this version makes: refused, not reported as a size mismatch.
  writeFileSync(path, JSON.stringify(original));
  const records = join(dir, 'dgen-manifest.records.ndjson');
  const lines = readFileSync(records, 'utf8')
    .split('\n')
    .filter((l) => l);
  const first = JSON.parse(lines[0]!) as { size: number };
  first.size += 512;
  writeFileSync(records, [JSON.stringify(first), ...lines.slice(1)].join('\n') + '\n');
  await t.rejects(verifyObjects({ target: dir }), { code: 'ERR_DGEN_MANIFEST_UNSUPPORTED', field: 'size' });
  const cli = dgen('verify', dir);
  t.equal(cli.status, 1);
  t.match(cli.stderr, /ERR_DGEN_MANIFEST_UNSUPPORTED|cannot make this manifest's files again/);
});

t.test('npz on S3 (s3rver): intact, one object overwritten with a flipped byte, one deleted', async (t) => {
  const bucket = 'dgen-verify-formats';
  const server = await startS3rver([bucket]);
  t.teardown(() => server.stop());
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = createS3Client({ endpoint: server.endpoint, credentials });
  t.teardown(() => client.destroy());
  const target = `s3://${bucket}/run`;
  const put = await putFormatObjects(target, {
    format: 'npz',
    count: 3,
    ...data,
    formatOptions: { samples: 2, recordLength: 30000 },
    sink: { client },
  });
  const names = put.files.map((f) => f.name);
  const ok = await verifyObjects({ target, client });
  t.equal(ok.ok, 3);
  t.equal(ok.objects, 3);
  t.equal(ok.extraObjects, 0);
  const key = `run/${names[1]!}`;
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = Buffer.from(await got.Body!.transformToByteArray());
  bytes[5000]! ^= 1;
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `run/${names[2]!}` }));
  const bad = await verifyObjects({ target, client });
  t.same(verdicts(bad), { [names[1]!]: 'mismatch@5000', [names[2]!]: 'missing' });
  t.equal(bad.ok, 1);
});

t.test('tfrecord on Azure (Azurite): intact, one blob truncated, one index blob deleted', async (t) => {
  const server = await startAzurite();
  t.teardown(() => server.stop());
  const container = 'dgen-verify-formats';
  const service = BlobServiceClient.fromConnectionString(server.connectionString, {
    retryOptions: { maxTries: 4, retryDelayInMs: 100, tryTimeoutInMs: 10_000 },
  });
  await service.getContainerClient(container).create();
  const target = `az://${container}/run`;
  const connectionString = server.connectionString;
  const put = await putFormatObjects(target, {
    format: 'tfrecord',
    count: 2,
    ...data,
    formatOptions: { samples: 3, recordLength: 7000 },
    sink: { connectionString },
  });
  const names = put.files.map((f) => f.name);
  const ok = await verifyObjects({ target, connectionString });
  t.equal(ok.objects, 4, 'two files, two index files');
  t.equal(ok.ok, 4);
  t.equal(ok.extraObjects, 0);
  const blobs = service.getContainerClient(container);
  const bytes = await blobs.getBlobClient(`run/${names[0]!}`).downloadToBuffer();
  await blobs.getBlockBlobClient(`run/${names[0]!}`).uploadData(bytes.subarray(0, 1000));
  await blobs.getBlobClient(`run/index/${names[1]!}.idx`).delete();
  const bad = await verifyObjects({ target, connectionString });
  t.same(verdicts(bad), { [names[0]!]: `size 1000/${bytes.length}`, [`index/${names[1]!}.idx`]: 'missing' });
  t.equal(bad.ok, 2);
});

t.test('raw manifests are verified as before', async (t) => {
  const dir = tempDir(t);
  const { putObjects } = await import('../lib/index.js');
  await putObjects({ target: dir, count: 2, size: 10_000, seed: 3 });
  const [a, b] = readdirSync(dir)
    .filter((n) => n.startsWith('obj-'))
    .sort() as [string, string];
  flip(join(dir, b), 9_000);
  const report = await verifyObjects({ target: dir });
  t.same(verdicts(report), { [b]: 'mismatch@9000' });
  t.equal(report.mismatches[0]!.check, undefined, 'no format check field on raw objects');
  t.equal(report.fileFormat, undefined);
  t.equal(report.ok, 1);
  t.equal(statSync(join(dir, a)).size, 10_000);
});

t.test(
  'npz in a directory, checked on the worker pool against its segments: damage at exact offsets, the verdicts of the streamed comparison',
  async (t) => {
    const { verifyLocalSegmentFiles } = await import('../lib/local-verifier.js');
    const { compareFormatFile } = await import('../lib/verify-formats.js');
    const { Backends } = await import('../lib/backends/index.js');
    const { createFormatFile, parseTarget } = await import('../lib/index.js');
    const dir = tempDir(t);
    // 3 MB of payload per file: the generated range spans three of the verifier's 1 MiB pieces.
    const formatOptions = { samples: 2, recordLength: 1_500_000 };
    const put = await putFormatObjects(dir, { format: 'npz', count: 9, ...data, formatOptions });
    const names = put.files.map((f) => f.name);
    const size = put.files[0]!.size;
    const manifest = JSON.parse(readFileSync(join(dir, 'dgen-manifest.json'), 'utf8'));
    const made = async (objectId: number) => createFormatFile('npz', { ...formatOptions, ...data, objectId: String(objectId) });
    const first = await made(0);
    const layout = first.localSegments!();
    const starts: number[] = [];
    layout.segments.reduce((at, s) => (starts.push(at), at + s.length), 0);
    const generated = layout.segments.findIndex((s) => !Buffer.isBuffer(s));
    const [[descriptor, descriptorAt], [central, centralAt]] = layout.crc32Fields[0]!.at as [[number, number], [number, number]];
    t.ok(generated > 0 && layout.segments.length - generated > 2, 'literal segments before and after the generated one');
    const path = (i: number) => join(dir, names[i]!);

    const intact = readFileSync(path(0));
    t.equal(
      (await verifyLocalSegmentFiles(manifest, [segmentFile(0)], dir))![0]!.crc32c,
      crc32c(intact).toString(16).padStart(8, '0'),
      "the expected CRC-32C is the file's",
    );
    const expected: Record<string, string> = {};
    const damage = (i: number, offset: number) => (flip(path(i), offset), (expected[names[i]!] = `mismatch@${offset}`));
    damage(1, starts[1]! + 3); // the NPY header: a literal segment
    damage(2, starts[generated]! + 1_234_567); // the payload: the generated range's second piece
    flip(path(3), starts[central]! + 2); // a later difference (central directory) does not hide the first
    damage(3, starts[generated]! + 2_500_001);
    truncateSync(path(4), size - 10);
    expected[names[4]!] = `size ${size - 10}/${size}`;
    writeFileSync(path(5), Buffer.concat([readFileSync(path(5)), Buffer.from('extra')]));
    expected[names[5]!] = `size ${size + 5}/${size}`;
    rmSync(path(6));
    expected[names[6]!] = 'missing';
    damage(7, starts[descriptor]! + descriptorAt + 2); // the CRC-32 in x.npy's data descriptor
    damage(8, starts[central]! + centralAt); // its copy in the central directory

    const report = await verifyObjects({ target: dir });
    t.same(verdicts(report), expected, 'verify reports each damage where it was done');
    t.equal(report.ok, 1);
    t.ok(report.mismatches.every((m) => m.check === 'bytes'));

    // The pool's verdicts, and the streamed lockstep comparison's on the same files: the same.
    function segmentFile(i: number) {
      return { name: names[i]!, objectId: put.files[i]!.objectId, streamSize: first.generator.size, ...layout };
    }
    const files = await Promise.all(names.map((_, i) => made(put.files[i]!.objectId)));
    const pool = (await verifyLocalSegmentFiles(
      manifest,
      files.map((f, i) => ({
        name: names[i]!,
        objectId: put.files[i]!.objectId,
        streamSize: f.generator.size,
        ...f.localSegments!(),
      })),
      dir,
    ))!;
    const backends = new Backends();
    const show = (v: { status: string; offset?: number; actualSize?: number }) =>
      v.status === 'mismatch' ? `mismatch@${v.offset}` : v.status === 'size' ? `size ${v.actualSize}/${size}` : v.status;
    for (const [i, name] of names.entries()) {
      const streamed = await compareFormatFile(put.files[i]!, files[i]!, parseTarget(path(i)), 'none', { root: dir, backends });
      t.equal(show(pool[i]!), expected[name] ?? 'ok', `${name}: the pool's verdict`);
      t.equal(show(streamed), show(pool[i]!), `${name}: the streamed comparison's verdict is the same`);
    }
    await backends.close();
  },
);
