// The file sink and the object-writer contract: committed bytes and CRC32C, nothing left behind on
// error, destroy or abort, mixed content.
import t from 'tap';
import { mkdtemp, readdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32c } from '@node-rs/crc32';
import { createGenerator, DataSource, FileSink, formatCrc32c } from '../lib/index.js';

async function tempDir(t: Tap.Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dgen-sink-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
type Tap = typeof t;
declare namespace Tap {
  type Test = Tap;
}

t.test('commits the bytes with their CRC32C and reports the result', async (t) => {
  const dir = await tempDir(t);
  for (const size of [0, 1, 511, 4 * 1024 * 1024 + 17]) {
    const path = join(dir, `o-${size}.bin`);
    const sink = new FileSink(path);
    await pipeline(new DataSource({ size, seed: 8, compressRatio: 2, chunkSize: 1 << 20 }), sink);
    const result = await sink.result();
    const expected = createGenerator({ size, seed: 8, compressRatio: 2 }).generateSync();
    const onDisk = await readFile(path);
    t.ok(onDisk.equals(expected), `size ${size}: file bytes equal regeneration`);
    t.same(result, { uri: pathToFileURL(path).href, size, compressedSize: size, crc32c: formatCrc32c(crc32c(expected)) });
    t.equal(sink.bytesWritten, size);
    t.equal(sink.compressedBytes, size);
    t.equal(sink.compressionRatio, 1);
  }
  t.same(
    (await readdir(dir)).filter((f) => f.includes('dgen-partial')),
    [],
    'no temporary files remain',
  );
});

t.test('destroy mid-write leaves nothing behind', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'x.bin');
  const sink = new FileSink(path);
  const source = new DataSource({ size: 1024 ** 3, seed: 1, chunkSize: 1 << 20 });
  let n = 0;
  source.on('data', () => {
    if (++n === 5) sink.destroy();
  });
  await t.rejects(pipeline(source, sink));
  await t.rejects(sink.result(), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  t.same(await readdir(dir), [], 'no file, no temporary file');
});

t.test('a source error aborts: the input ending early is not a finish', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'y.bin');
  let sent = 0;
  const failing = new Transform({
    transform(chunk, _e, cb) {
      sent += chunk.length;
      cb(sent > 3 << 20 ? new Error('upstream broke') : null, chunk);
    },
  });
  const sink = new FileSink(path);
  await t.rejects(pipeline(new DataSource({ size: 64 << 20, chunkSize: 1 << 20 }), failing, sink), { message: 'upstream broke' });
  await t.rejects(sink.result(), { message: 'upstream broke' }, 'the original error reaches result()');
  t.same(await readdir(dir), []);
});

t.test('AbortSignal aborts the write', async (t) => {
  const dir = await tempDir(t);
  const ac = new AbortController();
  const sink = new FileSink(join(dir, 'z.bin'), { signal: ac.signal });
  const source = new DataSource({ size: 1024 ** 3, chunkSize: 1 << 20 });
  let n = 0;
  source.on('data', () => {
    if (++n === 3) ac.abort();
  });
  await t.rejects(pipeline(source, sink), { name: 'AbortError' });
  await t.rejects(sink.result(), { name: 'AbortError' });
  t.same(await readdir(dir), []);
});

t.test('an unwritable destination fails with the file-system error and creates nothing', async (t) => {
  const dir = await tempDir(t);
  const sink = new FileSink(join(dir, 'missing', 'sub', 'a.bin'));
  await t.rejects(pipeline(new DataSource({ size: 1000 }), sink), { code: 'ENOENT' });
  await t.rejects(sink.result(), { code: 'ENOENT' });
  t.same(await readdir(dir), []);
  if (process.getuid?.() !== 0) {
    const ro = join(dir, 'ro');
    await import('node:fs/promises').then((fs) => fs.mkdir(ro));
    await chmod(ro, 0o500);
    const roSink = new FileSink(join(ro, 'a.bin'));
    await t.rejects(pipeline(new DataSource({ size: 1000 }), roSink), { code: 'EACCES' });
    await t.rejects(roSink.result());
    t.same(await readdir(ro), []);
  }
  // A destination that is a directory: the data is written to the side, the rename fails, the partial goes.
  const target = join(dir, 'isdir');
  await import('node:fs/promises').then((fs) => fs.mkdir(join(target, 'child'), { recursive: true }));
  const dirSink = new FileSink(target);
  await t.rejects(pipeline(new DataSource({ size: 5000 }), dirSink));
  await t.rejects(dirSink.result(), { code: 'EISDIR' });
  t.same((await readdir(dir)).sort(), ['isdir'], 'only the pre-existing directory remains');
  t.throws(() => new FileSink(''), { name: 'TypeError', code: 'ERR_DGEN_INVALID_OPTION' });
});

t.test('mixed content: header, a source piped with end:false, footer; counters and CRC32C cover all', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'mixed.bin');
  const sink = new FileSink(path);
  const header = Buffer.from('HEADER v1\n');
  const footer = Buffer.from('\nFOOTER');
  sink.write(header);
  const source = new DataSource({ size: 2 * 1024 * 1024 + 3, seed: 4 });
  await new Promise<void>((resolve, reject) => {
    source.once('end', resolve).once('error', reject);
    source.pipe(sink, { end: false });
  });
  sink.end(footer);
  const result = await sink.result();
  const expected = Buffer.concat([header, createGenerator({ size: 2 * 1024 * 1024 + 3, seed: 4 }).generateSync(), footer]);
  t.ok((await readFile(path)).equals(expected));
  t.equal(result.size, expected.length);
  t.equal(result.crc32c, formatCrc32c(crc32c(expected)));
  // result() after the fact resolves the same.
  t.same(await sink.result(), result);
});

t.test('replaces an existing file only on commit', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'keep.bin');
  await writeFile(path, 'old');
  const sink = new FileSink(path);
  const source = Readable.from([Buffer.alloc(1000, 1)]);
  source.pipe(sink, { end: false });
  await new Promise((r) => source.once('end', r));
  t.equal(await readFile(path, 'utf8'), 'old', 'the old file stays until the new one is committed');
  sink.on('error', () => {}); // the error is read through result()
  sink.destroy(new Error('changed my mind'));
  await t.rejects(sink.result(), { message: 'changed my mind' });
  t.equal(await readFile(path, 'utf8'), 'old', 'an aborted write leaves the old file');
  t.same(await readdir(dir), ['keep.bin']);
});

t.test('bad options and an already-aborted signal create nothing', async (t) => {
  const dir = await tempDir(t);
  const { DirectFileSink } = await import('../lib/index.js');
  t.throws(() => new FileSink(join(dir, 'a'), { fsync: 'no' as never }), { code: 'ERR_DGEN_INVALID_OPTION', message: /fsync/ });
  t.throws(() => new DirectFileSink(join(dir, 'b'), { bufferSize: 1000 }), {
    code: 'ERR_DGEN_INVALID_OPTION',
    message: /bufferSize/,
  });
  const sink = new FileSink(join(dir, 'c'), { signal: AbortSignal.abort(new Error('stop')) });
  sink.on('error', () => {});
  await t.rejects(sink.result(), { name: 'AbortError' }, 'result() gives the abort');
  await new Promise((r) => setTimeout(r, 200)); // a file opened late would show up by now
  t.same(await readdir(dir), [], 'no file and no .dgen-partial left');
});
