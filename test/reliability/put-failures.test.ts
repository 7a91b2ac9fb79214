// Failures a person can act on: every failing `dgen put` ends with the failed objects (name, URI, error
// code, errno, syscall, attempts) and `--json` always prints its document with `ok: false`. Real
// conditions: a full tmpfs, a read-only mount, an immutable directory, a directory another user may not
// write (dgen run as nobody), a stopped and a killed s3rver.
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mountTmpfs } from '../fixtures/helpers.js';
import { startS3rver } from '../fixtures/servers.js';

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const root = await mkdtemp(join(tmpdir(), 'dgen-put-failures-'));
chmodSync(root, 0o755);
t.teardown(() => rm(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `run-${n++}`);
const s3env = { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

function dgen(args: string[], options: { env?: NodeJS.ProcessEnv; as?: number } = {}) {
  const command =
    options.as === undefined
      ? [process.execPath, bin, ...args]
      : ['setpriv', `--reuid=${options.as}`, `--regid=${options.as}`, '--clear-groups', process.execPath, bin, ...args];
  // Another user cannot write the test runner's process records: NODE_OPTIONS (its loaders) stays behind.
  const { NODE_OPTIONS: _o, ...env } = options.env ?? process.env;
  const r = spawnSync(command[0]!, command.slice(1), {
    encoding: 'utf8',
    env: options.as === undefined ? (options.env ?? process.env) : env,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

const files = (dir: string) => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : []);

t.test('ENOSPC: the failed object with code, errno, syscall and attempts; the manifest lists it', async (t) => {
  const dir = fresh();
  if (!mountTmpfs(t, dir, 'size=1m')) return t.skip('cannot mount a tmpfs (not root)');
  const r = dgen(['put', dir, '--count', '1', '--size', '2MiB', '--seed', '1', '--json']);
  t.equal(r.status, 1, r.stderr);
  const doc = r.json();
  t.equal(doc.ok, false);
  t.equal(doc.committed, 0);
  t.equal(doc.failed, 1);
  t.match(doc.failures, [
    {
      name: 'obj-000000.bin',
      uri: `file://${dir}/obj-000000.bin`,
      code: 'ENOSPC',
      errno: -28,
      syscall: 'write',
      attempts: 1,
      error: /ENOSPC/,
    },
  ]);
  t.match(
    r.stderr,
    /1 object\(s\) failed:\n {2}FAILED obj-000000\.bin {2}file:\/\/\S+ {2}ENOSPC \(errno -28, syscall write\) after 1 attempt\(s\)/,
  );
  t.same(
    files(dir).filter((f) => f.endsWith('.dgen-partial')),
    [],
    'nothing partial',
  );
  t.ok(existsSync(join(dir, 'dgen-manifest.json')), 'the manifest is stored');
});

t.test('a manifest that cannot be stored is said so, with the objects that committed', async (t) => {
  const dir = fresh();
  if (!mountTmpfs(t, dir, 'size=1m')) return t.skip('cannot mount a tmpfs (not root)');
  // Two objects of 512 KiB fill the 1 MiB file system exactly: both commit, the records find no space.
  const r = dgen(['put', dir, '--count', '2', '--size', '512KiB', '--seed', '1', '--json']);
  t.equal(r.status, 1, r.stderr);
  const doc = r.json();
  t.match(doc, {
    ok: false,
    manifest: null,
    manifestNotStored: `file://${dir}/dgen-manifest.json`,
    committed: 2,
    failed: 0,
    error: { code: 'ERR_DGEN_MANIFEST_NOT_STORED', message: /ENOSPC/ },
  });
  t.same(
    doc.committedObjects.map((o: { name: string }) => o.name),
    ['obj-000000.bin', 'obj-000001.bin'],
  );
  t.match(r.stderr, /no manifest: .*ENOSPC/);
  t.match(r.stderr, /2 object\(s\) committed:\n {2}file:\/\/\S+obj-000000\.bin\n {2}file:\/\/\S+obj-000001\.bin/);
  t.same(files(dir), ['obj-000000.bin', 'obj-000001.bin'], 'the objects stay, nothing partial');
});

t.test('EROFS: a read-only target is refused before anything; a read-only subdirectory fails its objects', async (t) => {
  const ro = fresh();
  if (!mountTmpfs(t, ro, 'size=1m,ro')) return t.skip('cannot mount a tmpfs (not root)');
  const refused = dgen(['put', join(ro, 'new'), '--count', '2', '--size', '4KiB', '--json']);
  t.equal(refused.status, 2, 'a usage-class error: nothing was tried');
  t.match(refused.json(), {
    ok: false,
    error: { code: 'ERR_DGEN_TARGET_UNWRITABLE', errno: -30, syscall: 'access' },
    committed: 0,
    failures: [],
  });
  t.match(refused.stderr, /cannot write under .*EROFS/);

  const dir = fresh();
  mkdirSync(join(dir, 'sub'), { recursive: true });
  if (!mountTmpfs(t, join(dir, 'sub'), 'size=1m,ro')) return t.skip('cannot mount a tmpfs');
  const r = dgen(['put', dir, '--count', '2', '--size', '4KiB', '--name-template', 'sub/obj-{index}.bin', '--json']);
  t.equal(r.status, 1, r.stderr);
  const doc = r.json();
  t.equal(doc.ok, false);
  t.match(doc.failures, [
    { name: 'sub/obj-000000.bin', code: 'EROFS', errno: -30, syscall: 'open', attempts: 1 },
    { name: 'sub/obj-000001.bin', code: 'EROFS', errno: -30, syscall: 'open', attempts: 1 },
  ]);
  t.match(r.stderr, /FAILED sub\/obj-000001\.bin {2}file:\/\/\S+ {2}EROFS \(errno -30, syscall open\)/);
});

t.test('EPERM: an immutable directory (chattr +i)', async (t) => {
  const dir = fresh();
  mkdirSync(join(dir, 'sub'), { recursive: true });
  if (spawnSync('chattr', ['+i', join(dir, 'sub')]).status !== 0) return t.skip('chattr +i is not possible here');
  t.teardown(() => execFileSync('chattr', ['-i', join(dir, 'sub')]));
  const r = dgen(['put', dir, '--count', '1', '--size', '4KiB', '--name-template', 'sub/obj-{index}.bin', '--json']);
  t.equal(r.status, 1, r.stderr);
  t.match(r.json().failures, [{ name: 'sub/obj-000000.bin', code: 'EPERM', errno: -1, syscall: 'open' }]);
  const refused = dgen(['put', join(dir, 'sub'), '--count', '1', '--size', '4KiB', '--json']);
  t.equal(refused.status, 2);
  t.match(refused.json().error, { code: 'ERR_DGEN_TARGET_UNWRITABLE', errno: -1, syscall: 'access' });
});

t.test('EACCES: dgen run as nobody into a directory it may not write', async (t) => {
  const dir = fresh();
  mkdirSync(join(dir, 'sub'), { recursive: true });
  chmodSync(dir, 0o777);
  chmodSync(join(dir, 'sub'), 0o755); // root's
  if (dgen(['--version'], { as: 65534 }).status !== 0) return t.skip('cannot run dgen as nobody here');
  const r = dgen(['put', dir, '--count', '2', '--size', '4KiB', '--name-template', 'sub/obj-{index}.bin', '--json'], {
    as: 65534,
  });
  t.equal(r.status, 1, r.stderr);
  t.match(r.json().failures, [
    { name: 'sub/obj-000000.bin', code: 'EACCES', errno: -13, syscall: 'open', attempts: 1 },
    { name: 'sub/obj-000001.bin', code: 'EACCES', errno: -13, syscall: 'open', attempts: 1 },
  ]);
  const refused = dgen(['put', join(dir, 'sub'), '--count', '1', '--size', '4KiB', '--json'], { as: 65534 });
  t.equal(refused.status, 2);
  t.match(refused.json().error, { code: 'ERR_DGEN_TARGET_UNWRITABLE', errno: -13, syscall: 'access' });
  t.same(files(join(dir, 'sub')), [], 'nothing created');
});

t.test(
  'a stopped s3rver: refused by the probe before any object; killed mid-run: failures and the committed objects',
  async (t) => {
    const bucket = 'dgen-failures';
    const server = await startS3rver([bucket]);
    t.teardown(() => server.stop());
    await server.kill();
    const refused = dgen(
      ['put', `s3://${bucket}/p`, '--endpoint', server.endpoint, '--count', '2', '--size', '4KiB', '--attempts', '1', '--json'],
      { env: s3env },
    );
    t.equal(refused.status, 2, refused.stderr);
    t.match(refused.json(), { ok: false, error: { code: 'ERR_DGEN_TARGET_UNWRITABLE', message: /probe object/ } });

    await server.restart();
    // NODE_DEBUG=dgen says when an object is finished: the server is killed after the first.
    const child = spawn(
      process.execPath,
      [
        bin,
        'put',
        `s3://${bucket}/run`,
        '--endpoint',
        server.endpoint,
        '--count',
        '200',
        '--size',
        '64KiB',
        '--concurrency',
        '2',
        '--attempts',
        '2',
        '--json',
      ],
      {
        env: { ...s3env, NODE_DEBUG: 'dgen' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    let killed: Promise<void> | undefined;
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (!killed && /finish s3:\/\//.test(stderr)) killed = server.kill();
    });
    const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await killed;
    t.ok(killed, 'the server was killed mid-run');
    t.equal(status, 1, stderr.slice(-2000));
    const doc = JSON.parse(stdout);
    t.match(doc, { ok: false, manifest: null, error: { code: 'ERR_DGEN_MANIFEST_NOT_STORED' } });
    t.ok(doc.committed >= 1 && doc.committed < 200, `${doc.committed} committed before the kill`);
    t.equal(doc.committedObjects.length, doc.committed);
    t.ok(doc.failed >= 1, `${doc.failed} failed`);
    t.match(doc.failures[0], { uri: /^s3:\/\/dgen-failures\/run\/obj-/, attempts: 2, error: /ECONNREFUSED|socket|connect/ });
    t.match(stderr, /FAILED run\/obj-\d+\.bin|FAILED obj-\d+\.bin/);
  },
);

t.test('interrupted by SIGINT: the failures so far are listed too', async (t) => {
  const dir = fresh();
  // Directories where objects 0 and 1 go: their renames fail (EISDIR), the others commit.
  mkdirSync(join(dir, 'obj-000000.bin'), { recursive: true });
  mkdirSync(join(dir, 'obj-000001.bin'), { recursive: true });
  const child = spawn(process.execPath, [bin, 'put', dir, '--count', '1000000', '--size', '4KiB', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const { setTimeout: sleep } = await import('node:timers/promises');
  for (let i = 0; i < 30_000 && child.exitCode === null; i++) {
    if (readdirSync(dir).some((f) => /^obj-\d+\.bin$/.test(f) && f !== 'obj-000000.bin' && f !== 'obj-000001.bin')) break;
    await sleep(2);
  }
  child.kill('SIGINT');
  t.equal(await exited, 130, stderr);
  const doc = JSON.parse(stdout);
  t.match(doc, { ok: false, interrupted: 'SIGINT', failed: 2 });
  t.match(doc.failures, [
    { name: 'obj-000000.bin', code: 'EISDIR', syscall: 'rename', attempts: 1 },
    { name: 'obj-000001.bin', code: 'EISDIR', syscall: 'rename', attempts: 1 },
  ]);
  t.match(stderr, /2 object\(s\) failed:\n {2}FAILED obj-000000\.bin/);
});
