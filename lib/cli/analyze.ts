/**
 * `dgen analyze <inputs...>`. Inputs that are not regular files, directories or objects (a FIFO,
 * `/dev/zero`, `/dev/stdin`) are refused before anything is read (exit 2, `ERR_DGEN_INVALID_INPUT`);
 * there is no way to read a stream with a size limit, as a measurement of an unnamed stream could not be
 * repeated anyway. Entries of directories and prefixes that are skipped (links, special files, dgen's own
 * manifests and temporary files) are listed on stderr, and under `skipped` in the JSON. Over zero bytes
 * there are no ratios: the table says "no data" and the JSON has `null` ratios.
 * @module
 */
import { connectionOptions } from './options.js';
import type { AnalyzeFlags } from './main.js';
import { SingleBar, Presets } from 'cli-progress';
import bytes from 'bytes-iec';
import { analyze, totalSize } from '../analyze/analyze.js';
import type { AnalyzeReport } from '../analyze/analyzer.js';
import { DEFAULT_CDC, type CdcParameters } from '../analyze/fastcdc.js';
import { parseSize } from '../params.js';
import { invalidRange } from '../errors.js';

function human(n: number): string {
  return bytes.format(n, { mode: 'binary', decimalPlaces: 1 }) ?? `${n} B`;
}

function label(key: string): string {
  return key === 'cdc' ? 'cdc' : human(Number(key)).replace(/\.0 /, ' ');
}

function parseCdc(value: string | boolean | undefined): CdcParameters | false {
  if (value === false) return false;
  if (value === undefined || value === true) return DEFAULT_CDC;
  const parts = value.split(',').map((p) => parseSize('cdc', p.trim(), 'ERR_DGEN_INVALID_OPTION'));
  if (parts.length !== 3) throw invalidRange('ERR_DGEN_INVALID_OPTION', 'cdc', value, 'MIN,AVG,MAX sizes, e.g. 2KiB,8KiB,64KiB');
  return { min: parts[0]!, avg: parts[1]!, max: parts[2]! };
}

/**
 * `--sample RATE`: a fraction in (0, 1] (`0.01`) or a percentage (`1%`); undefined when not given.
 * @throws RangeError `ERR_DGEN_INVALID_OPTION` (parameter `sample`) for anything else.
 */
export function parseSample(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  const m = /^(\d+(?:\.\d+)?|\.\d+)(%?)$/.exec(text);
  const rate = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(rate > 0 && rate <= 1))
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'sample', value, 'a fraction in (0, 1] or a percentage, e.g. 0.01 or 1%');
  return rate;
}

/** `--hash xxh3|sha256`; undefined when not given. @throws RangeError `ERR_DGEN_INVALID_OPTION` (parameter `hash`). */
export function parseHash(value: unknown): 'xxh3' | 'sha256' | undefined {
  if (value === undefined) return undefined;
  if (value === 'xxh3' || value === 'sha256') return value;
  throw invalidRange('ERR_DGEN_INVALID_OPTION', 'hash', value, "'xxh3' or 'sha256'");
}

/** An entry of a directory or prefix that analyze did not read, and why. */
export interface SkippedInput {
  uri: string;
  reason: string;
}

/** The report as `--json` prints it: ratios over zero bytes are `null` (there is nothing to measure). */
export function reportDocument(r: AnalyzeReport, skipped: SkippedInput[]): object {
  if (r.bytes > 0) return { ...r, skipped };
  const none = (o: Record<string, number>) => Object.fromEntries(Object.keys(o).map((k) => [k, null]));
  const compression = Object.fromEntries(
    Object.entries(r.compression).map(([name, c]) => [name, { whole: null, perChunk: none(c.perChunk) }]),
  );
  return { ...r, noData: true, dedup: none(r.dedup), compression, skipped };
}

/** The report as a table for a terminal. */
export function formatReport(r: AnalyzeReport): string {
  const keys = Object.keys(r.dedup);
  const w = r.sample ? 14 : 10;
  const cell = (s: string) => s.padStart(w);
  const lines = [`${human(r.bytes)} (${r.bytes} bytes) in ${r.inputs} input${r.inputs === 1 ? '' : 's'}`, ''];
  if (r.bytes === 0) {
    // A ratio over nothing would read as "no dedup, no compression"; there is simply no data.
    lines.push(r.inputs === 0 ? 'no data: no input to read' : 'no data: every input is empty');
    return lines.join('\n') + '\n';
  }
  lines.push(`${'chunk size'.padEnd(12)}${keys.map((k) => cell(label(k))).join('')}`);
  lines.push(`${'dedup'.padEnd(12)}${keys.map((k) => cell(r.dedup[k]!.toFixed(3))).join('')}`);
  lines.push(`${'zero chunks'.padEnd(12)}${keys.map((k) => cell(String(r.zeroChunks[k]))).join('')}`);
  // NaN: a ratio the sample could not estimate (nothing of it was sampled).
  const fixed = (v: number) => (Number.isNaN(v) ? 'n/a' : v.toFixed(3));
  const iv = (i: [number, number] | null | undefined) => (i ? `${i[0].toFixed(3)}-${i[1].toFixed(3)}` : 'n/a');
  if (r.sample && r.sample.rate < 1)
    lines.push(`${'(95 % CI)'.padEnd(12)}${keys.map((k) => cell(iv(r.sample!.dedup[k]))).join('')}`);
  if (r.cdc)
    lines.push(
      `(cdc: FastCDC min ${human(r.cdc.min)}, avg ${human(r.cdc.avg)}, max ${human(r.cdc.max)}; ${r.cdc.chunks} chunks)`,
    );
  if (Object.keys(r.compression).length === 0) {
    lines.push('', 'compression: not measured (--no-per-chunk; --full --no-per-chunk measures whole streams)');
    return lines.join('\n') + '\n';
  }
  lines.push('', `compression: whole stream, and each unique chunk alone after dedup`);
  lines.push(
    `${'codec'.padEnd(12)}${cell('whole')}${Object.keys(Object.values(r.compression)[0]?.perChunk ?? {})
      .map((k) => cell(label(k)))
      .join('')}`,
  );
  for (const [name, c] of Object.entries(r.compression)) {
    lines.push(
      `${name.padEnd(12)}${cell(fixed(c.whole))}${Object.values(c.perChunk)
        .map((v) => cell(fixed(v)))
        .join('')}`,
    );
    const ci = r.sample?.compression[name];
    if (ci)
      lines.push(
        `${'(95 % CI)'.padEnd(12)}${cell(iv(ci.whole))}${Object.values(ci.perChunk)
          .map((v) => cell(iv(v)))
          .join('')}`,
      );
  }
  if (r.sample && r.sample.rate < 1) {
    lines.push(
      '',
      `estimated from a ${(r.sample.rate * 100).toPrecision(3)} % sample by fingerprint (every byte read; see the README's analyze section)`,
    );
  }
  const rates = Object.entries(r.sample?.perChunkRate ?? {}).filter(([, v]) => v < 1);
  if (rates.length > 0) {
    const list = rates.map(([k, v]) => `${label(k)} ${(v * 100).toPrecision(2)} %`).join(', ');
    lines.push('', `per chunk: distinct chunks sampled by fingerprint (${list}); --full compresses every one with every codec`);
  }
  return lines.join('\n') + '\n';
}

/** Runs `dgen analyze`. */
export async function runAnalyze(inputs: string[], opts: AnalyzeFlags): Promise<void> {
  const chunkSizes =
    opts.chunkSizes === undefined
      ? undefined
      : opts.chunkSizes.split(',').map((s) => parseSize('chunkSizes', s.trim(), 'ERR_DGEN_INVALID_OPTION'));
  if (chunkSizes?.some((s) => s < 1))
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'chunkSizes', opts.chunkSizes, 'sizes of at least 1 byte');
  const cdc = parseCdc(opts.cdc);
  const sample = parseSample(opts.sample);
  const hash = parseHash(opts.hash);
  const connection = connectionOptions(opts);
  const showProgress = opts.progress !== false && process.stderr.isTTY === true;
  let bar: SingleBar | undefined;
  if (showProgress) {
    const total = await totalSize(inputs, connection);
    if (total !== undefined && total > 64 * 1024 * 1024) {
      bar = new SingleBar(
        {
          format: 'dgen analyze |{bar}| {percentage}% {done} | ETA {eta_formatted} | {uri}',
          stream: process.stderr,
          hideCursor: true,
        },
        Presets.shades_classic,
      );
      bar.start(total, 0, { done: '0 B', uri: '' });
    }
  }
  let last = 0;
  const skipped: SkippedInput[] = [];
  const report = await analyze(inputs, {
    ...connection,
    onSkip: (uri, reason) => skipped.push({ uri, reason }),
    ...(chunkSizes && { chunkSizes }),
    cdc,
    perChunk: opts.perChunk !== false,
    // --full: every codec on every distinct chunk (the measurements before 2026-12; see AnalyzeOptions).
    ...(opts.full === true && { full: true }),
    ...(sample !== undefined && { sample }),
    ...(hash && { hash }),
    onProgress: (done, uri) => {
      if (!bar || performance.now() - last < 100) return;
      last = performance.now();
      bar.update(done, { done: human(done), uri });
    },
  }).finally(() => bar?.stop());
  // On stderr, so that stdout holds only the report (or the JSON).
  for (const { uri, reason } of skipped) process.stderr.write(`dgen analyze: skipped ${uri}: ${reason}\n`);
  if (opts.json) process.stdout.write(JSON.stringify(reportDocument(report, skipped), null, 2) + '\n');
  else
    process.stdout.write(
      formatReport(report) +
        (skipped.length ? `(${skipped.length} entr${skipped.length === 1 ? 'y' : 'ies'} skipped, listed on stderr)\n` : ''),
    );
}
