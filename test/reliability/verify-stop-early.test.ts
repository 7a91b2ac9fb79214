// verify stops reading an object at its first difference and after its expected size: a 2 GiB (sparse)
// object that differs at byte 10 is not read to its end, nor is a file 2 GiB longer than its record.
// Bytes read are measured by the kernel's own counter of this process (rchar in /proc/self/io, every
// thread: the addon's workers read here too).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  generatorFor,
  putObjects,
  verifyObjects,
  MANIFEST_NAME,
  type ManifestParameters,
  type ManifestRecord,
} from '../../lib/index.js';
import { hasTool } from '../fixtures/helpers.js';

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const dgen = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
const bytesRead = async () => Number(/rchar:\s*(\d+)/.exec(await readFile('/proc/self/io', 'utf8'))![1]);

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const root = await mkdtemp(join(tmpdir(), 'dgen-stop-'));
t.teardown(() => rm(root, { recursive: true, force: true }));

/** A run of one object whose record is rewritten to `size` bytes; returns the manifest and the record. */
async function oneObject(name: string, size: number, compression: 'none' | 'zstd') {
  const target = join(root, name);
  await putObjects({ target, count: 1, size: 4096, seed: 41, compression });
  const recordsPath = join(target, 'dgen-manifest.records.ndjson');
  const record = { ...(JSON.parse(await readFile(recordsPath, 'utf8')) as ManifestRecord), size };
  delete record.compressedSize;
  await writeFile(recordsPath, JSON.stringify(record) + '\n');
  const manifest = JSON.parse(await readFile(join(target, MANIFEST_NAME), 'utf8')) as ManifestParameters & { bytes: number };
  await writeFile(join(target, MANIFEST_NAME), JSON.stringify({ ...manifest, bytes: size }));
  return { target, manifest, record, path: join(target, record.name) };
}

t.test('native path: a 2 GiB object differing at byte 10 is read no further than a few chunks', async (t) => {
  const { target, manifest, record, path } = await oneObject('mismatch', 2 * GiB, 'none');
  const head = Buffer.alloc(MiB);
  generatorFor(manifest, record).fillSync(head, 0);
  head[10] ^= 0xff;
  const file = await open(path, 'w');
  await file.write(head, 0, head.length, 0);
  await file.truncate(2 * GiB); // the rest: a hole, zeros that differ too
  await file.close();
  const before = await bytesRead();
  const report = await verifyObjects({ target, extras: false });
  const read = (await bytesRead()) - before;
  t.match(report.mismatches, [{ name: record.name, status: 'mismatch', offset: 10 }]);
  t.ok(read < 64 * MiB, `read ${(read / MiB).toFixed(1)} MiB of a 2 GiB object`);
  const r = dgen(['verify', target]);
  t.equal(r.status, 1);
  t.match(r.stdout, /MISMATCH .*: first differing byte at offset 10\n/);
});

t.test('native path: a file 2 GiB longer than its record is reported by size, not read past the record', async (t) => {
  const { target, manifest, record, path } = await oneObject('longer', 64 * 1024, 'none');
  const body = generatorFor(manifest, record).generateSync();
  const file = await open(path, 'w');
  await file.write(body, 0, body.length, 0);
  await file.truncate(2 * GiB + 64 * 1024);
  await file.close();
  const before = await bytesRead();
  const report = await verifyObjects({ target, extras: false });
  const read = (await bytesRead()) - before;
  t.match(report.sizeMismatches, [{ status: 'size', expectedSize: 64 * 1024, actualSize: 2 * GiB + 64 * 1024 }]);
  t.ok(read < 16 * MiB, `read ${(read / MiB).toFixed(1)} MiB`);
});

t.test(
  'stream path (zstd): the decompressed object differing at byte 10 stops the read of the stored file',
  { skip: !hasTool('zstd') && 'needs the zstd CLI' },
  async (t) => {
    const size = 128 * MiB;
    const { target, manifest, record, path } = await oneObject('zstd', size, 'zstd');
    const raw = join(root, 'raw.bin');
    const body = Buffer.allocUnsafe(size);
    generatorFor(manifest, record).fillSync(body, 0);
    body[10] ^= 0xff;
    await writeFile(raw, body);
    const z = spawnSync('zstd', ['-1', '-q', '-f', '-o', path, raw]);
    t.equal(z.status, 0, 'compressed by the zstd CLI');
    await rm(raw);
    t.ok(existsSync(path));
    const before = await bytesRead();
    const report = await verifyObjects({ target, extras: false });
    const read = (await bytesRead()) - before;
    t.match(report.mismatches, [{ name: record.name, status: 'mismatch', offset: 10 }]);
    t.ok(read < 40 * MiB, `read ${(read / MiB).toFixed(1)} MiB of a ${size / MiB} MiB stored object`);
    const r = dgen(['verify', target]);
    t.equal(r.status, 1);
    t.match(r.stdout, /MISMATCH .*: first differing byte at offset 10\n/);
  },
);

t.test(
  'stream path (zstd): an object longer than its record stops after the record + 1 byte',
  { skip: !hasTool('zstd') && 'needs the zstd CLI' },
  async (t) => {
    const { target, manifest, record, path } = await oneObject('zstd-longer', 1 * MiB, 'zstd');
    const raw = join(root, 'raw-longer.bin');
    const body = Buffer.alloc(256 * MiB); // the record's 1 MiB, then zeros
    generatorFor(manifest, record).fillSync(body.subarray(0, MiB), 0);
    await writeFile(raw, body);
    t.equal(spawnSync('zstd', ['-1', '-q', '-f', '-o', path, raw]).status, 0);
    await rm(raw);
    const report = await verifyObjects({ target, extras: false });
    t.equal(report.sizeMismatches.length, 1);
    const s = report.sizeMismatches[0]!;
    t.equal(s.expectedSize, MiB);
    t.ok(s.actualSize! > MiB && s.actualSize! < 64 * MiB, `stopped after ${s.actualSize} decompressed bytes, not 256 MiB`);
  },
);
