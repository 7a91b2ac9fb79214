/**
 * What `dgen put` tells people while and after it runs: human sizes, latency percentiles, the status line
 * printed every `--status-interval` off a terminal (a pod's log, CI, `nohup`), its NDJSON twin for
 * `--json`, and the fields of an error in a JSON document.
 * @module
 */
import bytes from 'bytes-iec';
import type { PutLatency, PutProgress } from '../put.js';
import type { LatencySummary } from '../latency.js';

/** Binary-prefixed size for people, e.g. `1.5GiB`, `256MiB`, `512B`. */
export function formatBytes(n: number): string {
  return bytes.format(n, { mode: 'binary', decimalPlaces: 1 }) ?? `${n}B`;
}

/** A size specification for people: the bytes of a fixed size (`268435456` -> `256MiB`), and each size of a
 * distribution (`uniform:4096,1048576` -> `uniform:4KiB,1MiB`); a size that is not a whole number of its
 * unit stays exact in bytes (`1000B`). */
export function formatSizeSpec(spec: string): string {
  if (/^\d+$/.test(spec)) return exactBytes(Number(spec));
  const m = /^(uniform|lognormal):(.*)$/.exec(spec);
  if (m)
    return `${m[1]}:${m[2]!
      .split(',')
      .map((n) => exactBytes(Number(n)))
      .join(',')}`;
  // A weighted list: SIZE:WEIGHT%,...
  return spec
    .split(',')
    .map((entry) => entry.replace(/^(\d+):/, (_, n: string) => `${exactBytes(Number(n))}:`))
    .join(',');
}

/** `n` bytes in the largest binary unit it is a whole number of (`1536` -> `1.5KiB` is not whole: `1536B`). */
export function exactBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (i < units.length - 1 && n >= 1024 && n % 1024 === 0) {
    n /= 1024;
    i++;
  }
  return `${n}${units[i]}`;
}

/** Milliseconds for people: 3 significant digits (`0.412 ms`, `12.3 ms`, `1520 ms`). */
export function formatMs(ms: number): string {
  return `${ms >= 100 ? Math.round(ms) : Number(ms.toPrecision(3))} ms`;
}

/** `p50 12.3 ms, p90 ..., p99 ..., p99.9 ..., max ...` of a latency summary. */
export function formatLatency(s: LatencySummary, short = false): string {
  const parts: [string, number][] = short
    ? [
        ['p50', s.p50],
        ['p99', s.p99],
      ]
    : [
        ['p50', s.p50],
        ['p90', s.p90],
        ['p99', s.p99],
        ['p99.9', s.p999],
        ['max', s.max],
      ];
  return parts.map(([name, v]) => `${name} ${formatMs(v)}`).join(', ');
}

/** The lines of a run's latency in the human summary (nothing when the run has none). */
export function latencyLines(latency: PutLatency | undefined): string {
  if (!latency) return '';
  return (
    `  latency per object (${latency.commit.count} objects): commit ${formatLatency(latency.commit)}\n` +
    (latency.firstByte ? `                       first byte acknowledged ${formatLatency(latency.firstByte)}\n` : '')
  );
}

/** The fields of an error that a `--json` document reports: message, and code, parameter, uri, errno,
 * syscall and (HTTP) status where the error has them. */
export function errorFields(err: unknown): Record<string, unknown> {
  const e = (err ?? {}) as Error & {
    code?: string;
    parameter?: string;
    uri?: string;
    errno?: number;
    syscall?: string;
    status?: number;
  };
  return {
    message: e.message ?? String(err),
    ...(e.code !== undefined && { code: e.code }),
    ...(e.parameter !== undefined && { parameter: e.parameter }),
    ...(e.uri !== undefined && { uri: e.uri }),
    ...(e.errno !== undefined && { errno: e.errno }),
    ...(e.syscall !== undefined && { syscall: e.syscall }),
    ...(e.status !== undefined && { status: e.status }),
  };
}

/** The `--json` document of a put refused before it started: nothing was written. */
export function usageDocument(err: unknown): Record<string, unknown> {
  return { ok: false, error: errorFields(err), committed: 0, failed: 0, failures: [] };
}

/** One reading of a run's progress for a status report. */
export interface StatusSample {
  objectsDone: number;
  objectsFailed: number;
  /** 0 when unknown (a timed run). */
  objectsTotal: number;
  bytesDone: number;
  /** 0 when unknown. */
  bytesTotal: number;
  elapsedMs: number;
  /** Bytes per second since the previous report (over the whole run for the first). */
  currentRate: number;
  /** Bytes per second over the whole run. */
  averageRate: number;
  latency?: PutLatency;
}

/** The status line of a sample, e.g. `dgen put: 12 s, 40/100 objects, 160MiB of 400MiB, 12.5MiB/s now,
 * 13.3MiB/s average, commit latency p50 12.3 ms, p99 40.1 ms`. */
export function statusLine(s: StatusSample): string {
  const objects = s.objectsTotal > 0 ? `${s.objectsDone}/${s.objectsTotal} objects` : `${s.objectsDone} objects`;
  const size = s.bytesTotal > 0 ? `${formatBytes(s.bytesDone)} of ${formatBytes(s.bytesTotal)}` : formatBytes(s.bytesDone);
  return (
    `dgen put: ${(s.elapsedMs / 1000).toFixed(s.elapsedMs < 10_000 ? 1 : 0)} s, ${objects}${s.objectsFailed ? ` (${s.objectsFailed} failed)` : ''}, ${size}, ` +
    `${formatBytes(s.currentRate)}/s now, ${formatBytes(s.averageRate)}/s average` +
    (s.latency ? `, commit latency ${formatLatency(s.latency.commit, true)}` : '') +
    '\n'
  );
}

/** The NDJSON progress event of a sample (one line on stderr with `--json`). */
export function progressEvent(s: StatusSample): string {
  return (
    JSON.stringify({
      event: 'progress',
      elapsedSeconds: s.elapsedMs / 1000,
      objectsDone: s.objectsDone,
      objectsFailed: s.objectsFailed,
      objectsTotal: s.objectsTotal,
      bytesDone: s.bytesDone,
      bytesTotal: s.bytesTotal,
      bytesPerSecond: s.currentRate,
      averageBytesPerSecond: s.averageRate,
      ...(s.latency && { latency: s.latency }),
    }) + '\n'
  );
}

/**
 * Reports a run's progress every `intervalMs` on `out` (a status line, or with `json` an NDJSON event),
 * from the last progress seen (progress comes with every chunk written, so a log shows a run is alive
 * also while its first object is being written). The timer does not keep the process alive.
 */
export class StatusReporter {
  #timer: NodeJS.Timeout;
  #last: PutProgress | undefined;
  #previous = { bytes: 0, at: 0 };

  constructor(
    intervalMs: number,
    private readonly json: boolean,
    private readonly out: NodeJS.WritableStream = process.stderr,
  ) {
    this.#timer = setInterval(() => this.report(), intervalMs);
    this.#timer.unref();
  }

  /** The latest progress (the put's onProgress). */
  update(progress: PutProgress): void {
    this.#last = progress;
  }

  /** Writes one report now (none before the run's first progress: until then nothing is known). */
  report(): void {
    const p = this.#last;
    if (p === undefined) return;
    const elapsedMs = p.elapsedMs;
    const bytesDone = p.bytesDone;
    const since = Math.max(1e-3, (elapsedMs - this.#previous.at) / 1000);
    const sample: StatusSample = {
      objectsDone: p.objectsDone,
      objectsFailed: p.objectsFailed,
      objectsTotal: p.objectsTotal,
      bytesDone,
      bytesTotal: p.bytesTotal,
      elapsedMs,
      currentRate: (bytesDone - this.#previous.bytes) / since,
      averageRate: bytesDone / Math.max(1e-3, elapsedMs / 1000),
      ...(p.latency && { latency: p.latency }),
    };
    this.#previous = { bytes: bytesDone, at: elapsedMs };
    this.out.write(this.json ? progressEvent(sample) : statusLine(sample));
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
