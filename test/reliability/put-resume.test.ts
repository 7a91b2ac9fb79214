// dgen put --resume: a run stopped by SIGINT stores a manifest marked interrupted that lists what
// committed; --resume keeps those objects (their size on disk checked, not rewritten), writes the rest,
// and stores a complete manifest that `dgen verify` accepts.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { MANIFEST_NAME, putObjects, readManifest, verifyObjects } from '../../lib/index.js';
import { startS3rver } from '../fixtures/servers.js';

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const root = await mkdtemp(join(tmpdir(), 'dgen-put-resume-'));
t.teardown(() => rm(root, { recursive: true, force: true }));

function dgen(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: unknown }).code as number | null) : 0, stdout, stderr });
    });
  });
}
const objects = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.bin'))
        .sort()
    : [];

t.test('SIGINT, then --resume, then verify', async (t) => {
  const dir = join(root, 'local');
  const args = ['put', dir, '--count', '400', '--size', '1MiB', '--seed', '9', '--dedup', '2', '--compress', '3'];
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 30_000 && child.exitCode === null && objects(dir).length < 20; i++) await sleep(2);
  child.kill('SIGINT');
  t.equal(await exited, 130, stderr);
  const interrupted = await readManifest(join(dir, MANIFEST_NAME));
  t.equal(interrupted.interrupted, true);
  const committed = objects(dir);
  t.equal((interrupted as { committed: number }).committed, committed.length, `${committed.length} committed before SIGINT`);
  t.ok(committed.length >= 20 && committed.length < 400);

  // A kept object is not rewritten (same inode, same mtime); one whose size on disk is wrong is.
  const keptName = committed[0]!;
  const before = statSync(join(dir, keptName));
  const damaged = committed[1]!;
  truncateSync(join(dir, damaged), 1000);

  const conflicting = await dgen(['put', dir, '--resume', '--seed', '10']);
  t.equal(conflicting.status, 2, 'a parameter that differs from the interrupted run is a usage error');
  t.match(conflicting.stderr, /--seed: seed must be "9", as in the run resumed/);

  const r = await dgen(['put', dir, '--resume', '--json']);
  t.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  t.match(doc, { ok: true, committed: 400, failed: 0, resumed: committed.length - 1, seed: '9' });
  t.notOk(doc.interrupted);
  const after = statSync(join(dir, keptName));
  t.equal(after.ino, before.ino, 'kept object not rewritten (inode)');
  t.equal(after.mtimeMs, before.mtimeMs, 'kept object not rewritten (mtime)');
  t.equal(statSync(join(dir, damaged)).size, 1024 * 1024, 'the damaged object was written again');
  t.equal(objects(dir).length, 400);

  const verify = await dgen(['verify', dir, '--json']);
  t.equal(verify.status, 0, verify.stderr);
  t.match(JSON.parse(verify.stdout), { ok: 400 });
});

t.test('library: resume an aborted S3 run', async (t) => {
  const bucket = 'dgen-resume';
  const server = await startS3rver([bucket]);
  t.teardown(() => server.stop());
  const connection = { endpoint: server.endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } };
  const target = `s3://${bucket}/run`;
  const controller = new AbortController();
  const first = putObjects({
    ...connection,
    target,
    count: 40,
    size: 64 * 1024,
    seed: 4,
    concurrency: 2,
    signal: controller.signal,
    onProgress: (p) => p.objectsDone >= 5 && controller.abort(),
  });
  await t.rejects(first, { name: 'AbortError' });
  const r = await putObjects({ ...connection, target, resume: true });
  t.equal(r.committed, 40);
  t.ok(r.resumed >= 5 && r.resumed < 40, `${r.resumed} kept`);
  t.equal(r.interrupted, undefined);
  const report = await verifyObjects({ ...connection, target });
  t.equal(report.ok, 40);
});
