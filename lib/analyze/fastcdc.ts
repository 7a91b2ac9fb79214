/**
 * FastCDC content-defined chunking (Xia et al., "FastCDC: a Fast and Efficient Content-Defined Chunking
 * Approach for Data Deduplication", USENIX ATC 2016), used by `dgen analyze` (no well-kept npm package
 * implements it).
 *
 * - Gear rolling hash: fp = (fp << 1) + GEAR[byte], 32 bits, so the hash covers the last 32 bytes.
 *   GEAR holds 256 values from SplitMix64 started at 0 (the top 32 bits of each output).
 * - Cut-point skipping: no cut before `min` bytes (hashing starts there), a forced cut at `max`.
 * - Normalized chunking, level 2: below `avg` a cut needs log2(avg) + 2 zero bits in the mask (harder),
 *   from `avg` on log2(avg) - 2 (easier), which narrows the chunk-size distribution around `avg`.
 *   Masks take the hash's top bits, its best-mixed ones.
 * @module
 */
import { splitmix64 } from '../splitmix64.js';

/** Chunk sizes of the content-defined chunker, in bytes. */
export interface CdcParameters {
  /** Smallest chunk (except a stream's last). Default 2 KiB. */
  min: number;
  /** Target average chunk, a power of two. Default 8 KiB. */
  avg: number;
  /** Largest chunk. Default 64 KiB. */
  max: number;
}

export const DEFAULT_CDC: CdcParameters = { min: 2048, avg: 8192, max: 65536 };

/**
 * The Gear table: the top 32 bits of the first 256 outputs of SplitMix64 started at 0 (cpp/analyze_fastcdc.cc
 * builds the same table; test/fastcdc.test.ts pins values and a digest). Exported for that test only (not
 * part of lib/index.ts).
 */
export const GEAR: Uint32Array = Uint32Array.from(splitmix64(0n, 256), (z) => Number(z >> 32n));

function topBits(n: number): number {
  return n >= 32 ? 0xffffffff : (0xffffffff << (32 - n)) >>> 0;
}

/**
 * Streaming FastCDC: feed buffers in order with {@link push}; it returns the cut offsets inside each
 * buffer. State carries across buffers, so the cuts do not depend on how the stream is split.
 */
export class FastCdc {
  readonly params: CdcParameters;
  readonly #maskSmall: number;
  readonly #maskLarge: number;
  #length = 0; // bytes in the current chunk so far
  #fp = 0;

  /** @throws RangeError `ERR_DGEN_INVALID_OPTION` unless 64 <= min <= avg <= max and avg is a power of two. */
  constructor(params: CdcParameters = DEFAULT_CDC) {
    const { min, avg, max } = params;
    if (
      !(
        Number.isSafeInteger(min) &&
        min >= 64 &&
        avg >= min &&
        max >= avg &&
        Number.isSafeInteger(max) &&
        (avg & (avg - 1)) === 0
      )
    ) {
      throw Object.assign(
        new RangeError(`CDC sizes must satisfy 64 <= min <= avg <= max with avg a power of two; got ${min}/${avg}/${max}`),
        {
          code: 'ERR_DGEN_INVALID_OPTION',
          parameter: 'cdc',
          value: params,
        },
      );
    }
    this.params = params;
    const bits = Math.log2(avg);
    this.#maskSmall = topBits(bits + 2);
    this.#maskLarge = topBits(Math.max(1, bits - 2));
  }

  /** Cut offsets in `data` (each the end of a chunk, exclusive), given everything pushed before. */
  push(data: Uint8Array): number[] {
    const { min, avg, max } = this.params;
    const cuts: number[] = [];
    let len = this.#length;
    let fp = this.#fp;
    let i = 0;
    const n = data.length;
    while (i < n) {
      if (len < min) {
        // Cut-point skipping: jump to the minimum size.
        const skip = Math.min(min - len, n - i);
        len += skip;
        i += skip;
        fp = 0;
        continue;
      }
      const mask = len < avg ? this.#maskSmall : this.#maskLarge;
      const stop = Math.min(n, i + ((len < avg ? avg : max) - len));
      let cut = false;
      for (; i < stop; i++) {
        fp = ((fp << 1) + GEAR[data[i]!]!) >>> 0;
        len++;
        if ((fp & mask) === 0) {
          i++;
          cut = true;
          break;
        }
      }
      if (cut || len >= max) {
        cuts.push(i);
        len = 0;
        fp = 0;
      }
    }
    this.#length = len;
    this.#fp = fp;
    return cuts;
  }

  /** Ends the stream: the bytes since the last cut, if any, form the last chunk. Resets the state. */
  end(): boolean {
    const pending = this.#length > 0;
    this.#length = 0;
    this.#fp = 0;
    return pending;
  }
}
