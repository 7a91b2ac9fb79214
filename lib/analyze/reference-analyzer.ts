/**
 * The JavaScript reference analyzer: the single-threaded implementation `dgen analyze` had before the
 * native one (lib/analyze/analyzer.ts), kept as the reference the native one is tested against and for
 * callers that bring their own {@link Codec}s. It measures data the way storage systems see it: dedup by fixed-size chunks at several sizes and by
 * content-defined chunks (FastCDC), within and across inputs; compression per codec over each whole
 * input, and in the storage model "dedup first, then compress each unique chunk alone"; all-zero chunks.
 * Memory is bounded apart from the chunk index (one 20-byte SHA-1 per distinct chunk and chunk size).
 * @module
 */
import { hash } from 'node:crypto';
import { FastCdc, DEFAULT_CDC, type CdcParameters } from './fastcdc.js';
import { defaultCodecs, type Codec, type StreamCounter } from './codecs.js';
import { DEFAULT_CHUNK_SIZES, checkChunkSizes, type AnalyzeOptions, type AnalyzeReport } from './options.js';

/** One way of cutting the data: fixed size, or content-defined. */
class Chunking {
  readonly seen = new Set<string>();
  chunks = 0;
  uniqueBytes = 0;
  zero = 0;
  readonly compressed: number[];
  #pieces: Buffer[] = [];
  #pending = 0;

  constructor(
    readonly key: string,
    readonly fixed: number | undefined,
    readonly cdc: FastCdc | undefined,
    readonly codecs: Codec[],
    readonly perChunk: boolean,
  ) {
    this.compressed = codecs.map(() => 0);
  }

  #chunk(chunk: Buffer): void {
    this.chunks++;
    if (isZero(chunk)) this.zero++;
    const id = hash('sha1', chunk, 'base64');
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.uniqueBytes += chunk.length;
    if (this.perChunk) for (let c = 0; c < this.codecs.length; c++) this.compressed[c]! += this.codecs[c]!.chunkSize(chunk);
  }

  /** Emits the chunk ending at `end` of data (joining bytes held from earlier buffers). */
  #cut(data: Buffer, start: number, end: number): void {
    if (this.#pending === 0) this.#chunk(data.subarray(start, end));
    else {
      this.#pieces.push(data.subarray(start, end));
      this.#chunk(Buffer.concat(this.#pieces, this.#pending + end - start));
      this.#pieces = [];
      this.#pending = 0;
    }
  }

  #hold(data: Buffer, start: number): void {
    if (start >= data.length) return;
    // Copy: the caller's buffer may be reused once update() returns.
    this.#pieces.push(Buffer.from(data.subarray(start)));
    this.#pending += data.length - start;
  }

  update(data: Buffer): void {
    let start = 0;
    if (this.fixed) {
      const size = this.fixed;
      if (this.#pending > 0) {
        const need = size - this.#pending;
        if (data.length < need) return this.#hold(data, 0);
        this.#cut(data, 0, need);
        start = need;
      }
      for (; start + size <= data.length; start += size) this.#chunk(data.subarray(start, start + size));
    } else {
      for (const cut of this.cdc!.push(data)) {
        this.#cut(data, start, cut);
        start = cut;
      }
    }
    this.#hold(data, start);
  }

  /** End of one input: a partial last chunk counts as a chunk. */
  endInput(): void {
    this.cdc?.end();
    if (this.#pending > 0) {
      const last = Buffer.concat(this.#pieces, this.#pending);
      this.#pieces = [];
      this.#pending = 0;
      this.#chunk(last);
    }
  }
}

const ZEROS = Buffer.alloc(128 * 1024);
function isZero(chunk: Buffer): boolean {
  for (let at = 0; at < chunk.length; at += ZEROS.length) {
    const n = Math.min(ZEROS.length, chunk.length - at);
    if (!chunk.subarray(at, at + n).equals(ZEROS.subarray(0, n))) return false;
  }
  return true;
}

/**
 * Accumulates measurements over any number of inputs: for each input call {@link beginInput}, then
 * {@link update} with its bytes in order, then {@link endInput}; finally {@link report}.
 */
export class ReferenceAnalyzer {
  readonly #chunkings: Chunking[];
  readonly #codecs: Codec[];
  readonly #cdc: CdcParameters | undefined;
  readonly #perChunk: boolean;
  #streams: StreamCounter[] = [];
  readonly #wholeCompressed: number[];
  #bytes = 0;
  #inputs = 0;

  /** @throws RangeError `ERR_DGEN_INVALID_OPTION` for chunk sizes that are not whole numbers of 1 B to 1 GiB, or bad CDC sizes. */
  constructor(options: AnalyzeOptions = {}) {
    const sizes = options.chunkSizes ?? DEFAULT_CHUNK_SIZES;
    checkChunkSizes(sizes);
    this.#codecs = options.codecs ?? defaultCodecs();
    this.#perChunk = options.perChunk ?? true;
    this.#cdc = options.cdc === false ? undefined : (options.cdc ?? DEFAULT_CDC);
    this.#chunkings = sizes.map((s) => new Chunking(String(s), s, undefined, this.#codecs, this.#perChunk));
    if (this.#cdc) this.#chunkings.push(new Chunking('cdc', undefined, new FastCdc(this.#cdc), this.#codecs, this.#perChunk));
    this.#wholeCompressed = this.#codecs.map(() => 0);
  }

  /** Starts an input (a file or object): whole-stream compression and fixed chunking restart. */
  beginInput(): void {
    this.#inputs++;
    this.#streams = this.#codecs.map((c) => c.stream());
  }

  /** Feeds the next bytes of the current input. Resolves when the whole-stream compressors took them. */
  async update(data: Buffer): Promise<void> {
    this.#bytes += data.length;
    for (const c of this.#chunkings) c.update(data);
    await Promise.all(this.#streams.map((s) => s.write(data)));
  }

  /** Ends the current input. */
  async endInput(): Promise<void> {
    for (const c of this.#chunkings) c.endInput();
    const sizes = await Promise.all(this.#streams.map((s) => s.end()));
    sizes.forEach((n, i) => (this.#wholeCompressed[i]! += n));
    this.#streams = [];
  }

  /** Bytes analyzed so far. */
  get bytes(): number {
    return this.#bytes;
  }

  report(): AnalyzeReport {
    const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);
    const dedup: Record<string, number> = {};
    const uniqueBytes: Record<string, number> = {};
    const zeroChunks: Record<string, number> = {};
    for (const c of this.#chunkings) {
      dedup[c.key] = ratio(c.chunks, c.seen.size);
      uniqueBytes[c.key] = c.uniqueBytes;
      zeroChunks[c.key] = c.zero;
    }
    const compression: AnalyzeReport['compression'] = {};
    this.#codecs.forEach((codec, i) => {
      const perChunk: Record<string, number> = {};
      if (this.#perChunk) for (const c of this.#chunkings) perChunk[c.key] = ratio(c.uniqueBytes, c.compressed[i]!);
      compression[codec.name] = { whole: ratio(this.#bytes, this.#wholeCompressed[i]!), perChunk };
    });
    const cdc = this.#chunkings.find((c) => c.key === 'cdc');
    return {
      bytes: this.#bytes,
      inputs: this.#inputs,
      dedup,
      uniqueBytes,
      ...(this.#cdc && cdc && { cdc: { ...this.#cdc, chunks: cdc.chunks } }),
      compression,
      zeroChunks,
    };
  }
}
