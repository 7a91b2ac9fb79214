/**
 * Direct I/O file sink (`direct:///path`): writes with `O_DIRECT`, bypassing the page cache, from
 * sector-aligned buffers allocated by the native addon. Same commit-by-rename and abort guarantees as
 * {@link FileSink}.
 * @module
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { dgenError, invalidRange } from '../errors.js';
import { binding } from '../native.js';
import type { SizeInput } from '../params.js';
import { optionKeys } from '../option-keys.js';
import { formatFileTarget } from '../backends/file-uri.js';
import { FILE_KEYS, FileSink, type FileSinkOptions } from './file-sink.js';
import { OBJECT_WRITER_KEYS } from './object-writer.js';
import { checkSinkOptions, sizeOption } from './sink-options.js';

/** Alignment of O_DIRECT buffers, offsets and lengths: 4096 bytes covers 512-byte and 4K-sector devices. */
export const DIRECT_IO_ALIGNMENT = 4096;

/** Options of {@link DirectFileSink}. */
export interface DirectFileSinkOptions extends FileSinkOptions {
  /** Bytes gathered before each O_DIRECT write: a multiple of 4096 from 4096 to 1 GiB, as a number or a size
   * string (`'1MiB'`). Default 4 MiB. */
  bufferSize?: SizeInput;
}

/** The keys of {@link DirectFileSinkOptions}: any other key is an error. */
export const DIRECT_FILE_SINK_OPTION_KEYS = optionKeys<DirectFileSinkOptions>({
  ...OBJECT_WRITER_KEYS,
  ...FILE_KEYS,
  bufferSize: true,
});

/** Largest `bufferSize`: 1 GiB. */
export const MAX_DIRECT_BUFFER_SIZE = 2 ** 30;
/** Default `bufferSize`: 4 MiB. */
export const DEFAULT_DIRECT_BUFFER_SIZE = 4 * 1024 * 1024;

/**
 * The `bufferSize` option checked (default {@link DEFAULT_DIRECT_BUFFER_SIZE}).
 * @throws TypeError/RangeError `ERR_DGEN_INVALID_OPTION` (`parameter` `bufferSize`) for a value that is not
 *   a size, or not a multiple of 4096 from 4096 to 1 GiB.
 */
export function parseDirectBufferSize(options: { bufferSize?: unknown }): number {
  const size = sizeOption(options, 'bufferSize', DIRECT_IO_ALIGNMENT, MAX_DIRECT_BUFFER_SIZE) ?? DEFAULT_DIRECT_BUFFER_SIZE;
  if (size % DIRECT_IO_ALIGNMENT !== 0) {
    throw invalidRange(
      'ERR_DGEN_INVALID_OPTION',
      'bufferSize',
      options.bufferSize,
      `a multiple of ${DIRECT_IO_ALIGNMENT} bytes from ${DIRECT_IO_ALIGNMENT} to ${MAX_DIRECT_BUFFER_SIZE}`,
    );
  }
  return size;
}

/**
 * A file sink that writes with `O_DIRECT`. Incoming bytes are gathered in an aligned staging buffer and
 * written in aligned blocks; at commit the last partial block goes through a second descriptor opened
 * without `O_DIRECT`, then the file is renamed into place.
 *
 * Fails with code `ERR_DGEN_DIRECT_IO_UNSUPPORTED` where the file system refuses `O_DIRECT` (ramfs, and
 * tmpfs before Linux 6.6, do),
 * or where the platform has no `O_DIRECT`.
 */
export class DirectFileSink extends FileSink {
  readonly #staging: Buffer;
  #filled = 0;

  /** @throws TypeError `ERR_DGEN_INVALID_OPTION` for a key a direct file sink does not take (`parameter`
   *   the key; "did you mean ...?"); TypeError/RangeError `ERR_DGEN_INVALID_OPTION` for a bufferSize that is
   *   not a multiple of 4096 from 4096 to 1 GiB (before anything is created); the errors of {@link FileSink}. */
  constructor(path: string, options: DirectFileSinkOptions = {}) {
    // Checked before super(): the base class schedules the file's creation as soon as it is constructed.
    checkSinkOptions(options, DIRECT_FILE_SINK_OPTION_KEYS, 'DirectFileSink options');
    const size = parseDirectBufferSize(options ?? {});
    super(path, options);
    this.#staging = binding.allocAligned(size, DIRECT_IO_ALIGNMENT);
  }

  override get uri(): string {
    return formatFileTarget({ scheme: 'direct', path: this.path });
  }

  protected override async _open(): Promise<void> {
    const direct = (constants as Record<string, number>).O_DIRECT;
    if (direct === undefined) throw unsupported(this.path, 'this platform has no O_DIRECT');
    try {
      this.handle = await open(this.partialPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | direct, 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EINVAL') {
        throw unsupported(
          this.path,
          'the file system refuses O_DIRECT (ramfs, and tmpfs before Linux 6.6, do; use a disk-backed file system or file://)',
          err,
        );
      }
      throw err;
    }
  }

  protected override async _writeBytes(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, this.#staging.length - this.#filled);
      chunk.copy(this.#staging, this.#filled, at, at + n);
      this.#filled += n;
      at += n;
      if (this.#filled === this.#staging.length) {
        await this.writeAll(this.handle!, this.#staging);
        this.#filled = 0;
      }
    }
  }

  protected override async _beforeClose(): Promise<void> {
    const aligned = this.#filled - (this.#filled % DIRECT_IO_ALIGNMENT);
    if (aligned > 0) await this.writeAll(this.handle!, this.#staging.subarray(0, aligned));
    const tail = this.#staging.subarray(aligned, this.#filled);
    this.#filled = 0;
    if (tail.length === 0) return;
    // The unaligned tail cannot go through O_DIRECT: write it through a buffered descriptor.
    const buffered = await open(this.partialPath, 'r+');
    try {
      await this.writeAll(buffered, tail);
      await buffered.sync();
    } finally {
      await buffered.close();
    }
  }
}

function unsupported(path: string, why: string, cause?: unknown): Error {
  return dgenError('ERR_DGEN_DIRECT_IO_UNSUPPORTED', `direct I/O to ${path} is not possible: ${why}`, cause);
}
