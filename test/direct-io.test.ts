// Direct I/O sink (O_DIRECT) and the URI factory.
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { crc32c } from '@node-rs/crc32';
import {
  childTarget,
  createGenerator,
  createSink,
  DataSource,
  DirectFileSink,
  FileSink,
  formatCrc32c,
  formatTarget,
  parseTarget,
  S3Sink,
} from '../lib/index.js';

t.test('direct:// writes with O_DIRECT, aligned and unaligned sizes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dgen-direct-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const size of [0, 1, 4096, 4097, 3 * 1024 * 1024 + 511, 9 * 1024 * 1024]) {
    const path = join(dir, `d-${size}.bin`);
    const sink = createSink(`direct://${path}`, { bufferSize: 1024 * 1024 } as never);
    t.ok(sink instanceof DirectFileSink);
    await pipeline(new DataSource({ size, seed: 6, compressRatio: 2, chunkSize: 65536 }), sink);
    const result = await sink.result();
    const expected = createGenerator({ size, seed: 6, compressRatio: 2 }).generateSync();
    t.ok((await readFile(path)).equals(expected), `size ${size}`);
    t.equal(result.crc32c, formatCrc32c(crc32c(expected)));
    t.equal(result.uri, `direct://${path}`);
  }
  // Abort leaves nothing.
  const sink = new DirectFileSink(join(dir, 'aborted.bin'));
  const source = new DataSource({ size: 1024 ** 3, chunkSize: 1 << 20 });
  let n = 0;
  source.on('data', () => ++n === 6 && sink.destroy());
  await t.rejects(pipeline(source, sink));
  await t.rejects(sink.result());
  t.notOk(
    (await readdir(dir)).some((f) => f.includes('aborted')),
    'no file and no partial file after destroy',
  );
  t.throws(() => new DirectFileSink(join(dir, 'x'), { bufferSize: 1000 }), { code: 'ERR_DGEN_INVALID_OPTION' });
});

// A file system that refuses O_DIRECT: ramfs (mounted here when running as root), or tmpfs on kernels
// before 6.6. Newer tmpfs accepts O_DIRECT, so /dev/shm only serves where it still refuses.
async function refusingDirectory(t: Tap.Test): Promise<string | undefined> {
  const { mkdtempSync, openSync, closeSync, rmSync } = await import('node:fs');
  const { constants } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  if (process.getuid?.() === 0) {
    const dir = mkdtempSync(join(tmpdir(), 'dgen-ramfs-'));
    if (spawnSync('mount', ['-t', 'ramfs', 'none', dir]).status === 0) {
      t.teardown(() => {
        spawnSync('umount', [dir]);
        rmSync(dir, { recursive: true, force: true });
      });
      return dir;
    }
    rmSync(dir, { recursive: true, force: true });
  }
  if (!existsSync('/dev/shm')) return undefined;
  const probe = `/dev/shm/dgen-probe-${process.pid}`;
  try {
    closeSync(openSync(probe, constants.O_WRONLY | constants.O_CREAT | (constants as Record<string, number>).O_DIRECT!));
    rmSync(probe);
    return undefined; // this tmpfs accepts O_DIRECT
  } catch {
    rmSync(probe, { force: true });
    return mkdtempSync('/dev/shm/dgen-direct-');
  }
}
type Tap = typeof t;
declare namespace Tap {
  type Test = Tap;
}

t.test('where the file system refuses O_DIRECT the error says so, and nothing is left', async (t) => {
  const dir = await refusingDirectory(t);
  if (!dir) {
    t.skip('no file system here refuses O_DIRECT (not root for ramfs, and tmpfs accepts it)');
    return;
  }
  const sink = new DirectFileSink(join(dir, 'x.bin'));
  await t.rejects(pipeline(new DataSource({ size: 10_000 }), sink), {
    code: 'ERR_DGEN_DIRECT_IO_UNSUPPORTED',
    message: /refuses O_DIRECT/,
  });
  await t.rejects(sink.result());
  t.same(await readdir(dir), []);
});

t.test('URI factory: schemes, prefixes and malformed URIs', async (t) => {
  t.same(parseTarget('/a/b'), { scheme: 'file', path: '/a/b' });
  t.same(parseTarget('rel/x'), { scheme: 'file', path: join(process.cwd(), 'rel/x') });
  t.same(parseTarget('file:///a/b%20c'), { scheme: 'file', path: '/a/b c' });
  t.same(parseTarget('direct:///mnt/x'), { scheme: 'direct', path: '/mnt/x' });
  t.same(parseTarget('s3://bkt/some/key'), { scheme: 's3', bucket: 'bkt', key: 'some/key' });
  t.same(parseTarget('az://ctr/blob/name'), { scheme: 'az', container: 'ctr', blob: 'blob/name' });
  t.same(parseTarget('s3://bkt', true), { scheme: 's3', bucket: 'bkt', key: '' });
  t.same(childTarget(parseTarget('s3://bkt', true), 'o'), { scheme: 's3', bucket: 'bkt', key: 'o' });
  t.same(childTarget(parseTarget('s3://bkt/p/', true), 'o'), { scheme: 's3', bucket: 'bkt', key: 'p/o' });
  t.same(childTarget(parseTarget('az://c/p', true), 'o'), { scheme: 'az', container: 'c', blob: 'p/o' });
  t.equal(formatTarget(parseTarget('/tmp/a b')), 'file:///tmp/a%20b');
  for (const bad of [
    'ftp://host/x',
    's3://',
    's3://bucket',
    'az://container',
    's3:///key',
    'file://relative/x',
    'gopher:thing',
    '',
  ]) {
    t.throws(() => parseTarget(bad), { code: 'ERR_DGEN_INVALID_URI' }, `rejects ${JSON.stringify(bad)}`);
  }
  t.ok(createSink('/tmp/dgen-uri-test.bin') instanceof FileSink);
  const s3 = createSink('s3://bkt/k', {
    endpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  t.ok(s3 instanceof S3Sink);
  s3.destroy();
  t.throws(() => new S3Sink('b', 'k', { partSize: 1024 }), { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'partSize' });
  t.throws(() => createSink('az://c/b', { connectionString: '' }), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'connectionString',
  });
});
