// putFormatObjects: DLIO's folder layout (train/, valid/, index/ for TFRecord) in a directory, NumPy reading
// every file of both splits with all samples distinct across them, the same files to S3 (s3rver on
// 127.0.0.1) byte for byte, and bad parameters refused before anything exists.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client, DLIO_WORKLOADS, formatObjectFor, planFormatObjects, putFormatObjects } from '../lib/index.js';
import { crc32c } from '@node-rs/crc32';
import { readManifest, readManifestRecords, type ManifestRecord } from '../lib/manifest.js';
import { startS3rver } from './fixtures/servers.js';
import { PYTHON, hasPythonModule, sha, tempDir } from './fixtures/python.js';

const hasNumpy = hasPythonModule('numpy');
async function streamBytes(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

t.test('npz data set in DLIO layout: train/ and valid/, every sample distinct across splits', async (t) => {
  if (!hasNumpy) return t.skip('python3-numpy missing (apt-get install python3-numpy)');
  const dir = tempDir(t);
  const r = await putFormatObjects(dir, {
    format: 'npz',
    count: 3,
    validCount: 2,
    seed: 4,
    formatOptions: { samples: 2, recordLength: 40000 },
    compressRatio: 2,
  });
  t.same(readdirSync(join(dir, 'train')).sort(), ['img_0_of_3.npz', 'img_1_of_3.npz', 'img_2_of_3.npz']);
  t.same(readdirSync(join(dir, 'valid')).sort(), ['img_0_of_2.npz', 'img_1_of_2.npz']);
  t.same(
    r.files.map((f) => f.objectId),
    [0, 1, 2, 3, 4],
    'valid files continue the object ids',
  );
  const paths = r.files.map((f) => join(dir, f.name));
  const out = spawnSync(
    PYTHON,
    [
      '-c',
      `
import sys, json, hashlib, numpy as np
res = []
for p in sys.argv[1:]:
    with np.load(p) as d:
        x = d['x']
        res.append([hashlib.sha256(np.ascontiguousarray(x[..., i]).tobytes()).hexdigest() for i in range(x.shape[-1])] + [hashlib.sha256(x.tobytes()).hexdigest()])
print(json.dumps(res))
`,
      ...paths,
    ],
    { encoding: 'utf8' },
  );
  t.equal(out.status, 0, out.stderr);
  const read = JSON.parse(out.stdout) as string[][];
  const samples = new Set(read.flatMap((x) => x.slice(0, -1)));
  t.equal(samples.size, 10, 'all 10 samples of 5 files distinct');
  for (const [i, f] of r.files.entries()) {
    const expected = await formatObjectFor(
      'npz',
      f.objectId,
      { seed: r.seed, compressRatio: 2 },
      { samples: 2, recordLength: 40000 },
    );
    t.equal(read[i]!.at(-1), sha(expected.generator.generateSync()), `${f.name}: x equals regeneration from (seed, object id)`);
  }
});

t.test('tfrecord data set writes the DALI index files DLIO expects', async (t) => {
  const dir = tempDir(t);
  await putFormatObjects(dir, {
    format: 'tfrecord',
    count: 2,
    validCount: 1,
    seed: 4,
    formatOptions: { samples: 3, recordLength: 5000 },
  });
  t.ok(existsSync(join(dir, 'index/train/img_1_of_2.tfrecord.idx')), 'train index');
  t.ok(existsSync(join(dir, 'index/valid/img_0_of_1.tfrecord.idx')), 'valid index');
  const lines = readFileSync(join(dir, 'index/train/img_0_of_2.tfrecord.idx'), 'utf8').trim().split('\n');
  const file = readFileSync(join(dir, 'train/img_0_of_2.tfrecord'));
  t.equal(lines.length, 3, 'a line per record');
  let end = 0;
  for (const line of lines) {
    const [offset, length] = line.split(' ').map(Number) as [number, number];
    t.equal(offset, end, 'records back to back');
    t.equal(Number(file.readBigUInt64LE(offset)) + 16, length, 'length field + 16 = record length');
    end = offset + length;
  }
  t.equal(end, file.length, 'index covers the file');
});

t.test('bad parameters: typed error and nothing created', async (t) => {
  const dir = tempDir(t);
  const target = join(dir, 'ds');
  const bad: [string, object][] = [
    ['format', { format: 'hdf4', count: 1 }],
    ['count', { format: 'npz', count: 0, formatOptions: { recordLength: 10 } }],
    ['samples', { format: 'npz', count: 2, formatOptions: { samples: 0, recordLength: 10 } }],
    ['dtype', { format: 'npz', count: 2, formatOptions: { dtype: 'float8', recordLength: 10 } }],
    ['sampleShape', { format: 'npz', count: 2, formatOptions: { sampleShape: [3, 3], recordLength: 10 } }],
    ['layout', { format: 'npz', count: 2, layout: 'nested', formatOptions: { recordLength: 10 } }],
  ];
  for (const [parameter, options] of bad) {
    await t.rejects(
      putFormatObjects(target, options as never),
      { code: 'ERR_DGEN_INVALID_FORMAT', parameter },
      JSON.stringify(options),
    );
    t.notOk(existsSync(target), 'nothing created');
  }
});

t.test('safetensors shards to S3 equal the local stream byte for byte', async (t) => {
  const bucket = 'dgen-formats';
  const server = await startS3rver([bucket]);
  t.teardown(() => server.stop());
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = createS3Client({ endpoint: server.endpoint, credentials, maxAttempts: 4 }); // retries a stale keep-alive socket
  t.teardown(() => client.destroy());
  const formatOptions = { size: 6 * 1024 * 1024, layers: 4 };
  const r = await putFormatObjects(`s3://${bucket}/ckpt`, {
    format: 'safetensors',
    layout: 'flat',
    prefix: 'model',
    count: 2,
    seed: 9,
    dedupRatio: 2,
    formatOptions,
    sink: { client },
  });
  for (const f of r.files) {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `ckpt/${f.name}` }));
    const stored = Buffer.from(await got.Body!.transformToByteArray());
    const local = await streamBytes(
      (await formatObjectFor('safetensors', f.objectId, { seed: r.seed, dedupRatio: 2 }, formatOptions)).stream(),
    );
    t.equal(stored.length, f.size, `${f.name}: size`);
    t.ok(stored.equals(local), `${f.name}: bytes equal the local stream`);
  }
});

t.test('DLIO workload presets plan the MLPerf Storage data sets without generating anything', async (t) => {
  const unet3d = await planFormatObjects({ dlioWorkload: 'unet3d', seed: 1 });
  t.equal(unet3d.files.length, 168, 'unet3d: 168 training files');
  t.equal(unet3d.files[0]!.name, 'train/img_0_of_168.npz');
  const f = await unet3d.files[167]!.file();
  t.equal(f.format, 'npz');
  t.ok(
    f.size > 146_600_628 && f.size < 146_600_628 + 8192,
    `unet3d file ${f.size} bytes: one 146,600,628-byte sample plus framing`,
  );
  const cosmoflow = await planFormatObjects({ dlioWorkload: 'cosmoflow', seed: 1 });
  t.equal(cosmoflow.files.length, DLIO_WORKLOADS.cosmoflow.count, 'cosmoflow: 524,288 files planned lazily');
  t.equal(cosmoflow.files.at(-1)!.name, 'train/img_524287_of_524288.tfrecord');
  const resnet = await planFormatObjects({ dlioWorkload: 'resnet50', count: 2, seed: 1 });
  const r = (await resnet.files[1]!.file()) as import('../lib/index.js').TfrecordFile;
  t.equal(r.samples, 1251, 'resnet50: 1251 records per file');
  t.equal(r.recordLength, 114_660);
  // Format options given with a preset are merged into the preset's, not put in their place.
  const fewer = await planFormatObjects({ dlioWorkload: 'resnet50', count: 1, seed: 1, formatOptions: { samples: 8 } });
  const few = (await fewer.files[0]!.file()) as import('../lib/index.js').TfrecordFile;
  t.same([few.samples, few.recordLength], [8, 114_660], 'samples from the caller, record length from the preset');
  await t.rejects(planFormatObjects({ dlioWorkload: 'bert' }), { code: 'ERR_DGEN_INVALID_FORMAT', parameter: 'dlioWorkload' });
});

t.test('an abort while files are being written leaves no partial file: every file present is complete', async (t) => {
  const dir = tempDir(t);
  const controller = new AbortController();
  const formatOptions = { samples: 1, recordLength: 128 * 1024 * 1024 };
  const run = putFormatObjects(dir, {
    format: 'npz',
    count: 4,
    seed: 3,
    formatOptions,
    concurrency: 2,
    signal: controller.signal,
  });
  // Abort once a file is being written (its partial file exists), not after a guessed time.
  const poll = setInterval(() => {
    const train = join(dir, 'train');
    if (existsSync(train) && readdirSync(train).some((n) => n.endsWith('.dgen-partial'))) {
      clearInterval(poll);
      controller.abort(new Error('stop'));
    }
  }, 2);
  t.teardown(() => clearInterval(poll));
  const outcome = await run.then(
    () => 'finished',
    (err: Error) => err.message,
  );
  t.equal(outcome, 'stop', 'the run rejects with the abort reason');
  const size = (await formatObjectFor('npz', 0, { seed: 3 }, formatOptions)).size;
  const left = existsSync(join(dir, 'train')) ? readdirSync(join(dir, 'train')) : [];
  t.same(
    left.filter((n) => n.includes('dgen-partial')),
    [],
    'no partial files',
  );
  const m = (await readManifest(join(dir, 'dgen-manifest.json'))) as Awaited<ReturnType<typeof readManifest>> & {
    interrupted?: boolean;
    committed?: number;
  };
  t.equal(m.interrupted, true, 'the manifest says the run was interrupted');
  t.equal(m.committed, left.length, 'and lists the files that committed');
  for (const n of left) t.equal(statSync(join(dir, 'train', n)).size, size, `${n} complete`);
});

t.test(
  'a formatted put stores a manifest like a raw put: records of every file, fileFormat, progress to the total',
  async (t) => {
    const dir = tempDir(t);
    const formatOptions = { samples: 2, recordLength: 300_000 };
    const seen: { filesDone: number; bytesDone: number; bytesTotal: number; filesTotal: number }[] = [];
    const r = await putFormatObjects(dir, {
      format: 'npz',
      count: 3,
      validCount: 1,
      seed: 8,
      dedupRatio: 2,
      formatOptions,
      concurrency: 2,
      onProgress: (p) => seen.push({ ...p }),
    });
    t.equal(r.manifestUri, `file://${join(dir, 'dgen-manifest.json')}`);
    // The lead's reader validates the document against the manifest schema.
    const m = (await readManifest(join(dir, 'dgen-manifest.json'))) as Awaited<ReturnType<typeof readManifest>> & {
      fileFormat?: unknown;
    };
    t.match(m, {
      version: 2,
      seed: '8',
      count: 4,
      committed: 4,
      failed: 0,
      dedupRatio: 2,
      dedupScope: 'object',
      records: 'dgen-manifest.records.ndjson',
    });
    t.notOk('interrupted' in m, 'complete run');
    t.same(m.fileFormat, { format: 'npz', formatOptions, layout: 'dlio', prefix: 'img', validCount: 1 });
    const records: ManifestRecord[] = [];
    for await (const line of readManifestRecords(m, join(dir, 'dgen-manifest.json'))) records.push(line as ManifestRecord);
    records.sort((a, b) => Number(a.objectId) - Number(b.objectId));
    t.same(
      records.map((x) => x.name),
      ['train/img_0_of_3.npz', 'train/img_1_of_3.npz', 'train/img_2_of_3.npz', 'valid/img_0_of_1.npz'],
    );
    let bytes = 0;
    for (const rec of records) {
      const file = readFileSync(join(dir, rec.name));
      t.equal(rec.size, file.length, `${rec.name}: size`);
      t.equal(
        rec.crc32c,
        crc32c(file).toString(16).padStart(8, '0'),
        `${rec.name}: CRC-32C of the file's bytes (@node-rs/crc32)`,
      );
      bytes += file.length;
    }
    t.equal(m.version === 2 && m.bytes, bytes, 'bytes sums the files');
    const last = seen.at(-1)!;
    t.same(
      [last.filesDone, last.filesTotal, last.bytesDone, last.bytesTotal],
      [4, 4, bytes, bytes],
      'progress ends at the totals',
    );
    t.ok(
      seen.every((p, i) => i === 0 || (p.bytesDone >= seen[i - 1]!.bytesDone && p.filesDone >= seen[i - 1]!.filesDone)),
      'progress never goes back',
    );
    // NPZ to a directory goes through the native pool (put-local-format.ts): progress once per file.
    t.ok(seen.length >= 4, `progress reported for every file (${seen.length} calls)`);
  },
);

t.test('manifest: false writes none; a throwing onProgress stops the run with its error', async (t) => {
  const dir = tempDir(t);
  await putFormatObjects(dir, {
    format: 'npz',
    layout: 'flat',
    count: 2,
    seed: 1,
    formatOptions: { recordLength: 4096 },
    manifest: false,
  });
  t.same(readdirSync(dir).sort(), ['img_0_of_2.npz', 'img_1_of_2.npz']);
  const dir2 = tempDir(t);
  await t.rejects(
    putFormatObjects(dir2, {
      format: 'npz',
      layout: 'flat',
      count: 2,
      seed: 1,
      formatOptions: { recordLength: 4096 },
      onProgress: () => {
        throw new Error('callback says stop');
      },
    }),
    /callback says stop/,
  );
  await t.rejects(
    putFormatObjects(dir2, { format: 'npz', count: 1, seed: 1, formatOptions: { recordLength: 4096 }, manifest: 'yes' as never }),
    { code: 'ERR_DGEN_INVALID_FORMAT', parameter: 'manifest' },
  );
});
