/**
 * File sink: writes an object to a local file through a temporary name in the same directory and
 * renames it into place on success, so the destination only ever holds complete objects.
 * @module
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { formatFileTarget } from '../backends/file-uri.js';
import { optionKeys } from '../option-keys.js';
import { optionalBoolean, validateString } from '../validators.js';
import { OBJECT_WRITER_KEYS, ObjectWriter, type CommitInfo, type ObjectWriterOptions } from './object-writer.js';
import { checkOptionsObject, checkSinkOptions } from './sink-options.js';

/** Options of {@link FileSink}. */
export interface FileSinkOptions extends ObjectWriterOptions {
  /** fsync the file before the rename, so a committed object survives a crash. Default false. */
  fsync?: boolean;
}

/** The keys {@link FileSinkOptions} adds to the writer's: spread into the lists that take a file sink's. */
export const FILE_KEYS = { fsync: true } as const;

/** The keys of {@link FileSinkOptions}: any other key is an error. */
export const FILE_SINK_OPTION_KEYS = optionKeys<FileSinkOptions>({ ...OBJECT_WRITER_KEYS, ...FILE_KEYS });

/**
 * A sink (see {@link ObjectWriter}) for one local file. Bytes go to `.<name>.<random>.dgen-partial` beside
 * the destination; `end()` closes and renames it to the destination (replacing an existing file); an
 * error, `destroy()` or abort removes it. Errors are Node's own file-system errors (`ENOENT`, `EACCES`,
 * ...) with the path in the message.
 */
export class FileSink extends ObjectWriter {
  /** Absolute path of the destination. */
  readonly path: string;
  /** Absolute path of the temporary file while the object is being written. */
  readonly partialPath: string;
  readonly #fsync: boolean;
  /** The open temporary file. */
  protected handle: FileHandle | undefined;
  /** Bytes written to the file so far (its next write offset). */
  protected fileOffset = 0;

  /**
   * @param path - destination file path.
   * @throws TypeError `ERR_DGEN_INVALID_OPTION` when path is not a non-empty string, fsync not a boolean,
   *   or the options have a key a file sink does not take (`parameter` the key; "did you mean ...?"), all
   *   before anything is created; the errors of {@link ObjectWriter}.
   */
  constructor(path: string, options: FileSinkOptions = {}) {
    validateString('path', path, 'a non-empty file path');
    // A subclass (DirectFileSink) checks the keys itself: it takes more.
    if (new.target === FileSink) checkSinkOptions(options, FILE_SINK_OPTION_KEYS, 'FileSink options');
    else checkOptionsObject(options);
    const fsync = optionalBoolean('fsync', options.fsync, false);
    super(options);
    this.path = resolve(path);
    this.partialPath = join(dirname(this.path), `.${basename(this.path)}.${randomBytes(6).toString('hex')}.dgen-partial`);
    this.#fsync = fsync;
  }

  /** `file://` URI of the destination. */
  get uri(): string {
    return formatFileTarget({ scheme: 'file', path: this.path });
  }

  /** A chunk is written to the file (or, for DirectFileSink, copied to its aligned buffer) before its
   * write resolves, so its memory may be reused after the callback. */
  protected override get releasesChunks(): boolean {
    return true;
  }

  protected override async _open(): Promise<void> {
    this.handle = await open(this.partialPath, 'wx');
  }

  /** Writes all of buf at the current file offset through handle. */
  protected async writeAll(handle: FileHandle, buf: Uint8Array): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await handle.write(buf, done, buf.length - done, this.fileOffset);
      done += bytesWritten;
      this.fileOffset += bytesWritten;
    }
  }

  protected async _writeBytes(chunk: Buffer): Promise<void> {
    await this.writeAll(this.handle!, chunk);
  }

  /** Called before the temporary file is closed and renamed; subclasses flush what they hold. */
  protected async _beforeClose(): Promise<void> {}

  protected async _commit(): Promise<CommitInfo> {
    await this._beforeClose();
    const handle = this.handle!;
    if (this.#fsync) await handle.sync();
    this.handle = undefined;
    await handle.close();
    await rename(this.partialPath, this.path);
    return { uri: this.uri };
  }

  protected async _abort(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    try {
      await handle?.close(); // waits for writes in flight
    } finally {
      await rm(this.partialPath, { force: true });
    }
  }
}

/** Shorthand for `new FileSink(path, options)`. */
export function createFileSink(path: string, options?: FileSinkOptions): FileSink {
  return new FileSink(path, options);
}
