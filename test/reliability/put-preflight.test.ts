// Preflight: before its first object, `dgen put` checks every sink option and credential, that the
// bucket (container) exists and takes a write (one probe object, deleted again), that the manifest
// location holds no other run's manifest, and that the manifest takes no object's place. A failed check
// exits 2 with nothing created.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Client, putObjects } from '../../lib/index.js';
import { startAzurite, startRecordingProxy, startS3rver } from '../fixtures/servers.js';

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const root = await mkdtemp(join(tmpdir(), 'dgen-put-preflight-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `run-${n++}`);
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const { AZURE_STORAGE_CONNECTION_STRING: _az, ...baseEnv } = process.env;
const s3env = { ...baseEnv, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

/** Runs dgen without blocking this process (the recording proxy runs here). */
function dgen(
  args: string[],
  env: NodeJS.ProcessEnv = baseEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { encoding: 'utf8', env }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: unknown }).code as number | null) : 0, stdout, stderr });
    });
  });
}
const files = (dir: string) => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : []);

const bucket = 'dgen-preflight';
const server = await startS3rver([bucket]);
t.teardown(() => server.stop());
const proxy = await startRecordingProxy(server.port);
t.teardown(() => proxy.close());
// The SDK retries a request sent on a keep-alive socket the server closed while spawnSync blocked this
// event loop (socket hang up); a test reading or setting up through its own client must not fail on that.
const client = createS3Client({ endpoint: server.endpoint, credentials, maxAttempts: 4 });
t.teardown(() => client.destroy());
const keys = async (prefix: string) =>
  ((await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!).sort();

t.test('S3 options: a part size under 5 MiB is a usage error before any request', async (t) => {
  proxy.requests.length = 0;
  const r = await dgen(['put', `s3://${bucket}/p`, '--endpoint', proxy.endpoint, '--part-size', '1MiB', '--count', '2'], s3env);
  t.equal(r.status, 2, r.stderr);
  t.match(r.stderr, /--part-size: partSize must be a whole number of bytes from 5242880/);
  t.same(proxy.requests, [], 'no request reached the server');
});

t.test('S3: a missing bucket is refused after one probe request; an existing one gets its probe deleted', async (t) => {
  proxy.requests.length = 0;
  const r = await dgen(['put', 's3://no-such-bucket/p', '--endpoint', proxy.endpoint, '--count', '2', '--json'], s3env);
  t.equal(r.status, 2, r.stderr);
  t.match(JSON.parse(r.stdout), {
    ok: false,
    error: { code: 'ERR_DGEN_TARGET_UNWRITABLE', message: /the bucket no-such-bucket does not exist/, status: 404 },
  });
  t.match(proxy.requests, [{ method: 'PUT', url: /^\/no-such-bucket\/p\/\.dgen-probe-[0-9a-f]{12}/, status: 404 }]);
  t.equal(proxy.requests.length, 1, 'one request');

  proxy.requests.length = 0;
  const ok = await dgen(['put', `s3://${bucket}/ok`, '--endpoint', proxy.endpoint, '--count', '2', '--size', '4KiB'], s3env);
  t.equal(ok.status, 0, ok.stderr);
  const probes = proxy.requests.filter((q) => q.url.includes('.dgen-probe-'));
  t.match(
    probes,
    [
      { method: 'PUT', status: 200 },
      { method: 'DELETE', status: 204 },
    ],
    'one probe put, deleted',
  );
  t.same(
    await keys('ok/'),
    ['ok/dgen-manifest.json', 'ok/dgen-manifest.records.ndjson', 'ok/obj-000000.bin', 'ok/obj-000001.bin'],
    'no probe left',
  );
});

t.test("S3: a prefix holding another run's manifest is refused unless --overwrite", async (t) => {
  const args = ['put', `s3://${bucket}/taken`, '--endpoint', server.endpoint, '--size', '4KiB'];
  t.equal((await dgen([...args, '--count', '1'], s3env)).status, 0);
  const r = await dgen([...args, '--count', '2'], s3env);
  t.equal(r.status, 2, r.stderr);
  t.match(r.stderr, /holds the manifest of another run.*--overwrite.*\[ERR_DGEN_TARGET_IN_USE\]/);
  t.same(await keys('taken/obj'), ['taken/obj-000000.bin'], 'nothing written');
  t.equal((await dgen([...args, '--count', '2', '--overwrite'], s3env)).status, 0);
  t.same(await keys('taken/obj'), ['taken/obj-000000.bin', 'taken/obj-000001.bin']);
});

t.test('Azure: no connection string is a usage error; a missing container is refused', async (t) => {
  const r = await dgen(['put', 'az://c/p', '--count', '2']);
  t.equal(r.status, 2, r.stderr);
  t.match(r.stderr, /connectionString must be given, or AZURE_STORAGE_CONNECTION_STRING set/);
  const azurite = await startAzurite();
  t.teardown(() => azurite.stop());
  const missing = await dgen(['put', 'az://no-such-container/p', '--count', '2', '--json'], {
    ...baseEnv,
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
  });
  t.equal(missing.status, 2, missing.stderr);
  t.match(JSON.parse(missing.stdout), {
    ok: false,
    error: { code: 'ERR_DGEN_TARGET_UNWRITABLE', message: /the container no-such-container does not exist/ },
  });
});

t.test("local: another run's manifest is refused unless --overwrite; nothing created", async (t) => {
  const dir = fresh();
  t.equal((await dgen(['put', dir, '--count', '1', '--size', '4KiB'])).status, 0);
  const before = files(dir);
  const r = await dgen(['put', dir, '--count', '3', '--size', '4KiB']);
  t.equal(r.status, 2, r.stderr);
  t.match(r.stderr, /ERR_DGEN_TARGET_IN_USE/);
  t.same(files(dir), before, 'nothing created');
  t.equal((await dgen(['put', dir, '--count', '3', '--size', '4KiB', '--overwrite'])).status, 0);
  t.equal(files(dir).filter((f) => f.endsWith('.bin')).length, 3);
  // The library keeps its old default (overwrite) unless told otherwise.
  await t.rejects(putObjects({ target: dir, count: 1, size: 4096, overwrite: false }), {
    code: 'ERR_DGEN_TARGET_IN_USE',
    exitCode: 2,
  });
});

t.test("a manifest that would take an object's place is refused", async (t) => {
  const dir = fresh();
  for (const [manifest, why] of [
    [join(dir, '1'), /object 1 is named 1/],
    [join(dir, '1', 'm.json'), /object 1 is the file 1, where a directory must be/],
  ] as const) {
    const r = await dgen(['put', dir, '--count', '3', '--size', '4KiB', '--name-template', '{n}', '--manifest', manifest]);
    t.equal(r.status, 2, r.stderr);
    t.match(r.stderr, /--manifest: manifest must be a location that no object of the run takes/);
    t.match(r.stderr, why);
  }
  // A directory of the object names.
  const r = await dgen([
    'put',
    dir,
    '--count',
    '3',
    '--size',
    '4KiB',
    '--name-template',
    'd{n}/x',
    '--manifest',
    join(dir, 'd2'),
  ]);
  t.equal(r.status, 2, r.stderr);
  t.match(r.stderr, /d2 is a directory of the object names/);
  t.same(files(dir), [], 'nothing created');
  // Outside the run's indices, or in another shard's, there is no collision.
  t.equal(
    (await dgen(['put', dir, '--count', '3', '--size', '4KiB', '--name-template', '{n}', '--manifest', join(dir, '7')])).status,
    0,
  );
});
