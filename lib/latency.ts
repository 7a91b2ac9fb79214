/**
 * Per-object latencies of a bulk put, the way fio, warp and elbencho report them: count, min, mean,
 * p50, p90, p99, p99.9 and max in milliseconds.
 *
 * Values go into an HdrHistogram (`hdr-histogram-js`, a port of Gil Tene's HdrHistogram) in whole
 * microseconds with 3 significant digits, so a percentile is within 0.1% of the recorded value whatever
 * the range (1 us to hours; the histogram resizes itself), in fixed memory (about 100 KiB) however many
 * objects are recorded. Count, min, max and mean are kept exactly beside it; percentiles are clamped into
 * [min, max] (a histogram bucket's highest equivalent value can lie just above the largest value
 * recorded), so a summary always has min <= p50 <= p90 <= p99 <= p999 <= max.
 * @module
 */
import hdr from 'hdr-histogram-js';

/** Latency percentiles of a set of objects, in milliseconds (fractions of a millisecond kept). */
export interface LatencySummary {
  /** Objects measured. */
  count: number;
  /** Milliseconds. */
  min: number;
  /** Arithmetic mean, milliseconds. */
  mean: number;
  /** Median, milliseconds. */
  p50: number;
  /** 90th percentile, milliseconds. */
  p90: number;
  /** 99th percentile, milliseconds. */
  p99: number;
  /** 99.9th percentile, milliseconds. */
  p999: number;
  /** Milliseconds. */
  max: number;
}

/** One hour in microseconds: the histogram's range before it resizes itself. */
const INITIAL_HIGHEST_US = 3_600_000_000;

/** A recorder of latencies (milliseconds in, {@link LatencySummary} out). Not thread-safe; cheap to record
 * (a histogram increment); {@link LatencyRecorder.summary} walks the histogram once per percentile and is
 * cached until the next record. */
export class LatencyRecorder {
  #histogram: ReturnType<typeof hdr.build> | undefined;
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;
  #cached: LatencySummary | undefined;

  /** Values recorded. */
  get count(): number {
    return this.#count;
  }

  /** Records one latency in milliseconds (negative or non-finite values are ignored: a clock that went
   * backwards is not a latency). */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    // Built on first use: a run that records nothing (the native data plane) allocates nothing.
    this.#histogram ??= hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: INITIAL_HIGHEST_US,
      numberOfSignificantValueDigits: 3,
      autoResize: true,
    });
    this.#histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
    this.#count++;
    this.#sum += ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
    this.#cached = undefined;
  }

  /** The summary of what was recorded so far; undefined when nothing was. */
  summary(): LatencySummary | undefined {
    if (this.#count === 0 || !this.#histogram) return undefined;
    if (this.#cached) return this.#cached;
    const h = this.#histogram;
    const at = (percentile: number) => Math.min(this.#max, Math.max(this.#min, h.getValueAtPercentile(percentile) / 1000));
    this.#cached = {
      count: this.#count,
      min: this.#min,
      mean: this.#sum / this.#count,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: this.#max,
    };
    return this.#cached;
  }
}
