// Bulk puts on the native data plane (local targets without compression): the same objects and CRC-32C
// as the stream data plane, and nothing half-written after a full disk, a read-only target, an abort or
// a signal to a real `dgen put` process.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, symlinkSync, truncateSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { mountTmpfs } from './fixtures/helpers.js';
import {
  configureWorkers,
  MANIFEST_NAME,
  putObjects,
  readManifest,
  readManifestRecords,
  verifyObjects,
  type ManifestLine,
  type PutResult,
} from '../lib/index.js';

const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));
const root = await mkdtemp(join(tmpdir(), 'dgen-native-put-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `run-${n++}`);
const MiB = 1024 * 1024;

async function records(result: PutResult): Promise<ManifestLine[]> {
  const lines: ManifestLine[] = [];
  for await (const line of readManifestRecords(result, result.manifestUri)) lines.push(line);
  return lines.sort((a, b) => Number(a.objectId) - Number(b.objectId));
}

function partials(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.dgen-partial'))
    : [];
}

t.test("the native data plane writes the stream data plane's objects, with the same CRC-32C", async (t) => {
  t.teardown(() => configureWorkers());
  for (const size of [0, 1, 511, 512, 4095, 4 * MiB + 1]) {
    const base = { count: 3, size, seed: 8, dedupRatio: 2, compressRatio: 3 } as const;
    const stream = await putObjects({ ...base, target: fresh(), nativeWrites: false });
    const want = await records(stream);
    for (const [threads, chunkSize] of [
      [1, '64KiB'],
      [2, 512],
      [2, '4MiB'],
      [3, '1MiB'],
    ] as const) {
      configureWorkers({ threads });
      const native = await putObjects({ ...base, target: fresh(), chunkSize });
      const got = await records(native);
      t.same(
        got.map((r) => [r.name, (r as { crc32c: string }).crc32c]),
        want.map((r) => [r.name, (r as { crc32c: string }).crc32c]),
        `size ${size}, ${threads} threads, chunk ${chunkSize}: names and CRC-32C`,
      );
      for (const r of want) {
        const a = await readFile(join(fileURLToPath(stream.target), r.name));
        const b = await readFile(join(fileURLToPath(native.target), r.name));
        t.ok(a.equals(b), `size ${size}, ${threads} threads, chunk ${chunkSize}: ${r.name} byte-identical`);
      }
      t.equal((await verifyObjects({ target: fileURLToPath(native.target) })).ok, 3);
    }
  }
});

t.test('dataset scope and size distributions on the native data plane', async (t) => {
  const base = { count: 12, size: 'uniform:1KiB,300KiB', seed: 4, dedupRatio: 3, dedupScope: 'dataset' } as const;
  const native = await putObjects({ ...base, target: fresh() });
  const stream = await putObjects({ ...base, target: fresh(), nativeWrites: false });
  t.same(await records(native), await records(stream), 'the same records');
  t.equal((await verifyObjects({ target: fileURLToPath(native.target) })).ok, 12);
});

t.test('compressed puts to a directory still go through the stream data plane, correct', async (t) => {
  const result = await putObjects({ target: fresh(), count: 2, size: '1MiB', compressRatio: 3, compression: 'gzip', seed: 3 });
  const lines = await records(result);
  t.ok(
    lines.every((r) => 'compressedSize' in r && (r as { compressedSize: number }).compressedSize < MiB),
    'stored compressed',
  );
  t.equal((await verifyObjects({ target: fileURLToPath(result.target) })).ok, 2);
});

t.test('a full disk: the failed objects are named with ENOSPC, nothing partial remains', async (t) => {
  const dir = fresh();
  if (!mountTmpfs(t, dir, 'size=16m')) return t.skip('mounting a tmpfs needs root');
  const manifest = join(fresh(), 'm.json');
  const result = await putObjects({ target: dir, count: 8, size: '3MiB', seed: 1, manifest, attempts: 1 });
  t.ok(result.committed >= 1 && result.failed >= 1, `${result.committed} committed, ${result.failed} failed`);
  t.equal(result.committed + result.failed, 8);
  for (const f of result.failures) {
    t.equal(f.code, 'ENOSPC', f.name);
    t.match(f.error, new RegExp(`ENOSPC: no space left on device, write .*${f.name.replace('.', '\\.')}`));
  }
  t.same(partials(dir), [], 'no .dgen-partial file');
  t.equal(readdirSync(dir).length, result.committed, 'only committed objects are there');
  t.equal((await verifyObjects({ manifest })).ok, result.committed, 'and they verify');
});

t.test('a read-only target: refused before the first object with EROFS, nothing is created', async (t) => {
  const dir = fresh();
  if (!mountTmpfs(t, dir, 'size=1m,ro')) return t.skip('mounting a tmpfs needs root');
  const elsewhere = fresh();
  await t.rejects(putObjects({ target: dir, count: 3, size: '4KiB', seed: 1, manifest: join(elsewhere, 'm.json') }), {
    code: 'ERR_DGEN_TARGET_UNWRITABLE',
    errno: -30,
    syscall: 'access',
  });
  t.same(readdirSync(dir), []);
  t.notOk(existsSync(elsewhere), 'not even the manifest directory');
  // Objects that meet a read-only file system below the target fail one by one with EROFS
  // (test/reliability/put-failures.test.ts).
});

t.test('an AbortSignal mid-object: the object is removed and the manifest says interrupted', async (t) => {
  const target = fresh();
  const controller = new AbortController();
  const run = putObjects({ target, count: 2, size: '1GiB', seed: 1, signal: controller.signal });
  // Abort once the first temporary file exists: the object is being written.
  let settled = false;
  run.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!controller.signal.aborted && !settled) {
    if (partials(target).length > 0) controller.abort();
    else await sleep(1);
  }
  t.ok(controller.signal.aborted, 'aborted while an object was being written');
  await t.rejects(run, { name: 'AbortError' });
  t.same(partials(target), [], 'no .dgen-partial file');
  const manifest = await readManifest(join(target, MANIFEST_NAME));
  t.match(manifest, { interrupted: true, committed: 0 });
  t.same(
    readdirSync(target).filter((f) => f.endsWith('.bin')),
    [],
  );
});

/** Runs `dgen put` and sends it `signal` once objects are being written; resolves with its exit. */
async function interrupt(
  target: string,
  signal: NodeJS.Signals,
  json: boolean,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [bin, 'put', target, '--count', '1000000', '--size', '4KiB', '--seed', '2', ...(json ? ['--json'] : [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Objects are being written once the first ones are committed.
  for (let i = 0; i < 30_000 && child.exitCode === null; i++) {
    if (existsSync(target) && readdirSync(target).some((f) => f.endsWith('.bin'))) break;
    await sleep(2);
  }
  child.kill(signal);
  return { code: await exited, stdout, stderr };
}

t.test('SIGINT, SIGTERM and SIGHUP to dgen put: exit 128+n, nothing partial, an interrupted manifest', async (t) => {
  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    const target = fresh();
    const r = await interrupt(target, signal, signal === 'SIGTERM');
    t.equal(r.code, status, `${signal}: exit status ${status}\n${r.stderr}`);
    t.match(r.stderr, new RegExp(`interrupted by ${signal}: \\d+ objects committed`));
    t.same(partials(target), [], `${signal}: no .dgen-partial file`);
    const manifest = await readManifest(join(target, MANIFEST_NAME));
    t.equal(manifest.interrupted, true, `${signal}: the manifest says interrupted`);
    const objects = readdirSync(target).filter((f) => f.endsWith('.bin')).length;
    t.equal(manifest.committed, objects, `${signal}: every object on disk is recorded (${objects})`);
    t.ok(objects > 0 && objects < 1_000_000);
    if (signal === 'SIGTERM') t.match(JSON.parse(r.stdout), { ok: false, interrupted: 'SIGTERM', committed: objects });
  }
});

t.test('verify on the worker pool: the first differing byte, sizes, missing objects, links and FIFOs', async (t) => {
  const target = fresh();
  await putObjects({ target, count: 8, size: '300KiB', seed: 6, compressRatio: 2 });
  const big = fresh();
  await putObjects({ target: big, count: 1, size: '64MiB', seed: 6 });
  const path = (dir: string, i: number) => join(dir, `obj-00000${i}.bin`);
  /** Flips one byte of a file in place. */
  const poke = (file: string, offset: number) => {
    const fd = openSync(file, 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0xff;
    writeSync(fd, byte, 0, 1, offset);
    closeSync(fd);
  };
  poke(path(target, 0), 123_457);
  truncateSync(path(target, 1), 1000);
  truncateSync(path(target, 2), 300 * 1024 + 1);
  await rm(path(target, 3));
  await rm(path(target, 4));
  symlinkSync('/etc/hostname', path(target, 4));
  await rm(path(target, 5));
  execFileSync('mkfifo', [path(target, 5)]);
  await rm(path(target, 6));
  mkdirSync(path(target, 6));
  const report = await verifyObjects({ target });
  t.equal(report.ok, 1, 'one object untouched');
  t.match(report.mismatches, [{ name: 'obj-000000.bin', offset: 123_457 }]);
  t.match(report.sizeMismatches, [
    { name: 'obj-000001.bin', expectedSize: 300 * 1024, actualSize: 1000 },
    { name: 'obj-000002.bin', expectedSize: 300 * 1024, actualSize: 300 * 1024 + 1 },
  ]);
  t.match(report.missing, [{ name: 'obj-000003.bin' }]);
  t.match(report.errors, [
    { name: 'obj-000004.bin', error: /ELOOP/ },
    { name: 'obj-000005.bin', error: /not a regular file/ },
    { name: 'obj-000006.bin', error: /not a regular file/ },
  ]);
  // One large object is split over every worker: the lowest difference wins, wherever it is.
  poke(path(big, 0), 50 * MiB + 3);
  poke(path(big, 0), 60 * MiB);
  t.match((await verifyObjects({ target: big })).mismatches, [{ offset: 50 * MiB + 3 }]);
  poke(path(big, 0), 7);
  t.match((await verifyObjects({ target: big })).mismatches, [{ offset: 7 }]);
});
