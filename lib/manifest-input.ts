/**
 * Reading manifest files as untrusted input, in bounded memory and without blocking: the document is read
 * only from a regular file (or an object) of at most {@link MAX_MANIFEST_BYTES}; a records file is
 * streamed line by line, each line at most {@link MAX_RECORD_LINE_BYTES}. A FIFO, a device such as
 * `/dev/zero`, a directory or an over-long document is refused at once with `ERR_DGEN_INVALID_MANIFEST`.
 *
 * Local files are opened with O_NONBLOCK (opening a FIFO must not wait for a writer) and checked with
 * fstat on the open descriptor; a records file (its name comes from the manifest) is also opened with
 * O_NOFOLLOW. Node's readline is not used for records: it has no line limit, so a file without newlines
 * would be buffered whole.
 * @module
 */
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { formatTarget, parseTarget, type Target } from './backends/index.js';
import { notFound, openTarget, type InputOptions } from './analyze/inputs.js';
import { invalidManifest, MAX_MANIFEST_BYTES, MAX_RECORD_LINE_BYTES } from './manifest-schema.js';

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Opens a local manifest file: O_NONBLOCK, fstat, regular files only. */
async function openRegular(path: string, uri: string, noFollow: boolean): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | (noFollow ? constants.O_NOFOLLOW : 0));
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw notFound(uri, err);
    if ((err as { code?: string }).code === 'ELOOP' && noFollow)
      throw invalidManifest({ location: uri, field: '' }, 'a symbolic link', 'a regular file (links are not followed)');
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw invalidManifest({ location: uri, field: '' }, kind(st), 'a regular file');
    return { handle, size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

function tooLong(uri: string, size: number | string): Error {
  return invalidManifest({ location: uri, field: '' }, `${size} bytes`, `at most ${MAX_MANIFEST_BYTES} bytes (64 MiB)`);
}

/**
 * Reads a manifest document as UTF-8 text: a local regular file (links in the path the caller gave are
 * followed; the file itself must be regular) or an object, at most {@link MAX_MANIFEST_BYTES}.
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST` for something other than a regular file, or a longer
 *   document (read no further than the cap + 1 byte); `ERR_DGEN_NOT_FOUND`; file-system and backend errors.
 */
export async function readManifestText(location: string | Target, options: InputOptions = {}): Promise<string> {
  const t = typeof location === 'string' ? parseTarget(location) : location;
  const uri = typeof location === 'string' ? location : formatTarget(t);
  if (t.scheme === 'file' || t.scheme === 'direct') {
    const { handle, size } = await openRegular(t.path, uri, false);
    try {
      if (size > MAX_MANIFEST_BYTES) throw tooLong(uri, size);
      // The file may grow after fstat: read until EOF, never past the cap + 1 byte.
      const parts: Buffer[] = [];
      let total = 0;
      for (;;) {
        const buffer = Buffer.allocUnsafe(Math.min(1 << 20, size + 1));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > MAX_MANIFEST_BYTES) throw tooLong(uri, `more than ${MAX_MANIFEST_BYTES}`);
        parts.push(buffer.subarray(0, bytesRead));
      }
      return Buffer.concat(parts).toString('utf8');
    } finally {
      await handle.close();
    }
  }
  const stream = await openTarget(t, options);
  const parts: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (total > MAX_MANIFEST_BYTES) throw tooLong(uri, `more than ${MAX_MANIFEST_BYTES}`);
      parts.push(chunk as Buffer);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Opens a records file for streaming: a local regular file opened with O_NOFOLLOW (its name comes from the
 * manifest), or an object.
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST` for a link or something other than a regular file;
 *   `ERR_DGEN_NOT_FOUND`; file-system and backend errors.
 */
export async function openRecords(where: Target, options: InputOptions = {}): Promise<Readable> {
  if (where.scheme === 'file' || where.scheme === 'direct') {
    const { handle } = await openRegular(where.path, formatTarget(where), true);
    return handle.createReadStream({ highWaterMark: 256 * 1024, autoClose: true });
  }
  return openTarget(where, options);
}

/**
 * The lines of a stream (UTF-8, without their `\n` or `\r\n`), each at most {@link MAX_RECORD_LINE_BYTES};
 * a last line without a newline is yielded too.
 * @param uri - names the file in errors.
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST` naming the line that is too long (read no further).
 */
export async function* boundedLines(input: Readable, uri: string): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  const emit = (last: Buffer): string => {
    const whole = pending.length ? Buffer.concat([...pending, last]) : last;
    pending = [];
    pendingBytes = 0;
    const end = whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.length - 1 : whole.length;
    return whole.toString('utf8', 0, end);
  };
  const overLong = () =>
    invalidManifest(
      { location: uri, field: '', line: line + 1 },
      `more than ${MAX_RECORD_LINE_BYTES} bytes`,
      `at most ${MAX_RECORD_LINE_BYTES} bytes (64 KiB): one record per line`,
    );
  for await (const chunk of input) {
    let buf = chunk as Buffer;
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a)) {
      if (pendingBytes + nl > MAX_RECORD_LINE_BYTES + 1) throw overLong();
      line++;
      yield emit(buf.subarray(0, nl));
      buf = buf.subarray(nl + 1);
    }
    if (buf.length) {
      pendingBytes += buf.length;
      if (pendingBytes > MAX_RECORD_LINE_BYTES + 1) throw overLong();
      pending.push(buf);
    }
  }
  if (pendingBytes > 0) {
    line++;
    yield emit(Buffer.alloc(0));
  }
}
