/**
 * Which failures are worth retrying, and how long to wait before the next attempt.
 * @module
 */

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'EBUSY',
]);
const THROTTLING = /throttl|slowdown|slow down|too many requests|request limit|serverbusy|server busy/i;

/**
 * Whether an error is transient: a network error, an HTTP 5xx, 408 or 429, or a throttling answer
 * (S3 `SlowDown`, Azure `ServerBusy`), looking through `cause` chains (sinks wrap SDK errors).
 */
export function isTransient(err: unknown): boolean {
  for (
    let e = err as Record<string, unknown> | undefined, depth = 0;
    e && depth < 8;
    e = e.cause as Record<string, unknown> | undefined, depth++
  ) {
    if (typeof e !== 'object') return false;
    if (e.name === 'AbortError') return false;
    const status =
      (e.$metadata as { httpStatusCode?: number } | undefined)?.httpStatusCode ?? (e.statusCode as number | undefined);
    if (typeof status === 'number' && (status >= 500 || status === 408 || status === 429)) return true;
    if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
    if ((e.$retryable as unknown) || THROTTLING.test(String(e.name ?? '')) || THROTTLING.test(String(e.code ?? ''))) return true;
    if (/socket hang up|network|timed? ?out/i.test(String(e.message ?? ''))) return true;
  }
  return false;
}

/** Backoff before attempt `attempt` (2, 3, ...): exponential from `baseMs`, capped at `maxMs`, with full
 * jitter (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015). */
export function backoffMs(attempt: number, baseMs = 200, maxMs = 10_000, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(maxMs, baseMs * 2 ** (attempt - 2)));
}

/** Waits for free descriptors an object may make before it fails: 100 (with {@link resourceWaitMs}, about
 * a minute in all). */
export const MAX_RESOURCE_WAITS = 100;

/**
 * Whether an error says the process (`EMFILE`) or the system (`ENFILE`) has no free file descriptor:
 * not the object's fault, and gone once other objects close theirs. Such failures wait and retry
 * without using up the object's attempts (at most {@link MAX_RESOURCE_WAITS} times).
 */
export function isResourceExhausted(err: unknown): boolean {
  for (
    let e = err as Record<string, unknown> | undefined, depth = 0;
    e && typeof e === 'object' && depth < 8;
    e = e.cause as Record<string, unknown> | undefined, depth++
  ) {
    if (e.code === 'EMFILE' || e.code === 'ENFILE') return true;
  }
  return false;
}

/** Wait before retry `wait` (1, 2, ...) after EMFILE/ENFILE: 50 ms doubling up to 1 s, with jitter. */
export function resourceWaitMs(wait: number, random: () => number = Math.random): number {
  return Math.round((0.5 + random() / 2) * Math.min(1000, 50 * 2 ** Math.min(wait - 1, 10)));
}
