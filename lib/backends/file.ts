/**
 * The local file backend: `file:///path`, plain paths, and `direct:///path` (the same files written with
 * O_DIRECT). It owns their URIs (kept in file-uri.ts, a leaf module the sinks import too), reading a file as a
 * stream and creating their sinks ({@link FileSink}, {@link DirectFileSink}). No client: nothing to keep
 * between objects.
 * @module
 */
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { FileSink, FILE_SINK_OPTION_KEYS, type FileSinkOptions } from '../sinks/file-sink.js';
import { DIRECT_FILE_SINK_OPTION_KEYS, DirectFileSink, type DirectFileSinkOptions } from '../sinks/direct-file-sink.js';
import { pickOptions } from '../sinks/sink-options.js';
import type { ObjectWriter } from '../sinks/object-writer.js';

export { fileChild, formatFileTarget, parseFileUri, parsePath, type FileTarget } from './file-uri.js';
import type { FileTarget } from './file-uri.js';

/** Bytes each read of a file asks for: 4 MiB. */
const READ_CHUNK = 4 * 1024 * 1024;

/**
 * Opens a file for reading; resolves once it is open.
 * @throws Node's file-system errors (`ENOENT`, `EACCES`, `EISDIR` on the first read, ...).
 */
export async function openFile(path: string): Promise<Readable> {
  const stream = createReadStream(path, { highWaterMark: READ_CHUNK });
  await once(stream, 'open');
  return stream;
}

/**
 * The sink of a file target: a {@link FileSink}, or a {@link DirectFileSink} for `direct://`. Of the
 * options it takes the keys a file sink knows (a put's options name other backends' too).
 * @throws the errors of the sink's constructor.
 */
export function createFileTargetSink(target: FileTarget, options: FileSinkOptions | DirectFileSinkOptions): ObjectWriter {
  return target.scheme === 'file'
    ? new FileSink(target.path, pickOptions(options, FILE_SINK_OPTION_KEYS))
    : new DirectFileSink(target.path, pickOptions(options, DIRECT_FILE_SINK_OPTION_KEYS));
}
