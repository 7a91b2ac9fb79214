// FIFOs, devices and oversized files where verify expects a manifest, a records file or an object: a clear
// error at once, nothing blocks (a hang fails this file through tap's timeout), memory stays flat.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { open, mkdtemp, readFile, rm, symlink, writeFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_NAME, loadManifest, putObjects, readManifest, readManifestRecords, verifyObjects } from '../../lib/index.js';

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const dgen = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
const mkfifo = (path: string) => execFileSync('mkfifo', [path]);

const root = await mkdtemp(join(tmpdir(), 'dgen-special-'));
t.teardown(() => rm(root, { recursive: true, force: true }));

t.test('a manifest that is /dev/zero or a FIFO: ERR_DGEN_INVALID_MANIFEST at once, no memory growth', async (t) => {
  const target = join(root, 'm');
  await putObjects({ target, count: 2, size: 4096, seed: 1 });
  const fifo = join(root, 'manifest.fifo');
  mkfifo(fifo);
  for (const [manifest, kind] of [
    ['/dev/zero', 'a character device'],
    [fifo, 'a FIFO'],
    [target, 'a directory'],
  ]) {
    const r = dgen(['verify', target, '--manifest', manifest!]);
    t.equal(r.status, 2, `${manifest}: exit 2`);
    t.match(
      r.stderr,
      new RegExp(
        `invalid manifest ${manifest}: the manifest must be a regular file; got "${kind}" \\[ERR_DGEN_INVALID_MANIFEST\\]`,
      ),
    );
  }
  const before = process.memoryUsage().rss;
  await t.rejects(loadManifest('/dev/zero'), { code: 'ERR_DGEN_INVALID_MANIFEST', message: /regular file/ });
  await t.rejects(readManifest(fifo), { code: 'ERR_DGEN_INVALID_MANIFEST', message: /a FIFO/ });
  await t.rejects(verifyObjects({ target, manifest: '/dev/zero' }), { code: 'ERR_DGEN_INVALID_MANIFEST' });
  t.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, 'RSS grew by less than 64 MiB');
});

t.test('a manifest document over 64 MiB is refused without reading it', async (t) => {
  const target = join(root, 'big');
  await putObjects({ target, count: 1, size: 4096, seed: 2 });
  const path = join(root, 'huge.json');
  await writeFile(path, '{"format":"dgen-manifest",');
  await truncate(path, 100 * 1024 * 1024); // sparse: 100 MiB of NUL after the text
  const before = process.memoryUsage().rss;
  await t.rejects(verifyObjects({ target, manifest: path }), {
    code: 'ERR_DGEN_INVALID_MANIFEST',
    message: /at most 67108864 bytes \(64 MiB\)/,
  });
  t.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, 'the document was not read');
  t.equal(dgen(['verify', target, '--manifest', path]).status, 2);
});

t.test('a records file that is a FIFO, a link to /dev/zero, or one endless line: refused at once', async (t) => {
  const target = join(root, 'r');
  await putObjects({ target, count: 2, size: 4096, seed: 3 });
  const records = join(target, 'dgen-manifest.records.ndjson');
  const good = await readFile(records);
  const manifest = await readManifest(join(target, MANIFEST_NAME));
  const read = async () => {
    for await (const _ of readManifestRecords(manifest, join(target, MANIFEST_NAME)));
  };

  await rm(records);
  mkfifo(records);
  await t.rejects(read(), { code: 'ERR_DGEN_INVALID_MANIFEST', message: /must be a regular file; got "a FIFO"/ }, 'FIFO');
  let r = dgen(['verify', target]);
  t.equal(r.status, 2, 'FIFO records: exit 2');
  t.match(r.stderr, /records\.ndjson: the manifest must be a regular file; got "a FIFO"/);

  await rm(records);
  await symlink('/dev/zero', records);
  await t.rejects(read(), { code: 'ERR_DGEN_INVALID_MANIFEST', message: /a symbolic link/ }, 'a link is not followed');
  r = dgen(['verify', target]);
  t.equal(r.status, 2, 'records linked to /dev/zero: exit 2');

  // 1 GiB without a newline (sparse): the line limit stops the read after 64 KiB.
  await rm(records);
  const handle = await open(records, 'w');
  await handle.truncate(1024 ** 3);
  await handle.close();
  const before = process.memoryUsage().rss;
  await t.rejects(
    read(),
    { code: 'ERR_DGEN_INVALID_MANIFEST', line: 1, message: /line 1: the line must be at most 65536 bytes/ },
    'endless line',
  );
  t.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, 'the line was not buffered');
  r = dgen(['verify', target]);
  t.equal(r.status, 2);
  t.match(r.stderr, /line 1: the line must be at most 65536 bytes \(64 KiB\)/);

  // A long line after good ones names its own line.
  await writeFile(records, Buffer.concat([good, Buffer.from(`{"objectId":"0","name":"${'x'.repeat(100_000)}"}\n`)]));
  await t.rejects(read(), { code: 'ERR_DGEN_INVALID_MANIFEST', line: 3 }, 'long third line');
  await writeFile(records, good);
  t.equal((await verifyObjects({ target })).ok, 2, 'the intact records verify');
});

for (const compression of ['none', 'gzip'] as const) {
  t.test(
    `a FIFO or a device where an object should be (${compression === 'none' ? 'native' : 'stream'} path): an error for that object, no hang`,
    async (t) => {
      const target = join(root, `o-${compression}`);
      await putObjects({ target, count: 3, size: 8192, seed: 4, compression });
      const ext = compression === 'gzip' ? '.gz' : '';
      await rm(join(target, `obj-000001.bin${ext}`));
      mkfifo(join(target, `obj-000001.bin${ext}`));
      await rm(join(target, `obj-000002.bin${ext}`));
      await symlink('/dev/zero', join(target, `obj-000002.bin${ext}`));
      const report = await verifyObjects({ target });
      t.equal(report.ok, 1);
      t.match(report.errors, [
        { name: `obj-000001.bin${ext}`, status: 'error', error: /not a regular file|a FIFO/ },
        { name: `obj-000002.bin${ext}`, status: 'error', error: /symbolic link/ },
      ]);
      const r = dgen(['verify', target]);
      t.equal(r.status, 1);
      t.match(r.stdout, /1 of 3 objects match/);
      t.match(r.stdout, /ERROR +file:\/\/.*obj-000001\.bin/);
    },
  );
}
