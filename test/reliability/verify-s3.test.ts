// verify against a real S3-compatible server (s3rver on 127.0.0.1): extras under the prefix are listed
// (and nothing under a sibling prefix), a manifest object over 64 MiB is refused without being held, and
// a record naming a key outside the prefix is refused.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client, putObjects, verifyObjects } from '../../lib/index.js';
import { startS3rver } from '../fixtures/servers.js';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const bucket = 'dgen-verify';
const server = await startS3rver([bucket]);
t.teardown(() => server.stop());
// The SDK retries a request sent on a keep-alive socket the server closed while spawnSync blocked this
// event loop (socket hang up); a test reading or setting up through its own client must not fail on that.
const client = createS3Client({ endpoint: server.endpoint, credentials, maxAttempts: 4 });
t.teardown(() => client.destroy());
const connection = { endpoint: server.endpoint, credentials };
const put = (key: string, body: string | Buffer) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
const get = async (key: string) =>
  await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const dgen = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args, '--endpoint', server.endpoint], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

await putObjects({ target: `s3://${bucket}/run`, count: 3, size: 5000, seed: 12, ...connection });

t.test('extras under the prefix are listed, a sibling prefix is not', async (t) => {
  await put('run/stray.bin', 'x');
  await put('run/deep/er.bin', 'y');
  await put('run2/obj-000000.bin', 'z');
  const report = await verifyObjects({ target: `s3://${bucket}/run`, ...connection });
  t.equal(report.ok, 3);
  t.equal(report.extraObjects, 2);
  t.same(
    report.extras!.map((x) => x.uri),
    [`s3://${bucket}/run/deep/er.bin`, `s3://${bucket}/run/stray.bin`],
  );
  t.equal(report.partialFiles, 0);
  const r = dgen(['verify', `s3://${bucket}/run`]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /2 objects under the target are not in the manifest/);
  t.match(r.stdout, /EXTRA +s3:\/\/dgen-verify\/run\/stray\.bin/);
});

t.test('a manifest object over 64 MiB is refused', async (t) => {
  await put('big/dgen-manifest.json', Buffer.alloc(65 * 1024 * 1024, 0x20));
  await t.rejects(verifyObjects({ target: `s3://${bucket}/big`, ...connection }), {
    code: 'ERR_DGEN_INVALID_MANIFEST',
    message: /at most 67108864 bytes/,
  });
  const r = dgen(['verify', `s3://${bucket}/big`]);
  t.equal(r.status, 2);
  t.match(r.stderr, /s3:\/\/dgen-verify\/big\/dgen-manifest\.json: the manifest must be at most 67108864 bytes/);
});

t.test('a record naming a key outside the prefix is refused', async (t) => {
  const records = (await get('run/dgen-manifest.records.ndjson')).trimEnd().split('\n');
  const first = JSON.parse(records[0]!) as { name: string };
  records[0] = JSON.stringify({ ...first, name: '../run2/obj-000000.bin' });
  await put('run/dgen-manifest.records.ndjson', records.join('\n') + '\n');
  await t.rejects(verifyObjects({ target: `s3://${bucket}/run`, ...connection }), {
    code: 'ERR_DGEN_INVALID_MANIFEST',
    field: 'name',
    line: 1,
  });
  t.equal(dgen(['verify', `s3://${bucket}/run`]).status, 2);
});
