// Result rows shared by the benchmark files: a rate and its ratio against a baseline measured in the same run.
export interface Row {
  section: string;
  name: string;
  gbps: number;
  baseline: string;
  baselineGbps: number;
  ratio: number;
  note?: string;
}

export const rows: Row[] = [];
export const GB = 1e9;

export function row(section: string, name: string, gbps: number, baseline: string, baselineGbps: number, note?: string): void {
  rows.push({
    section,
    name,
    gbps: +gbps.toFixed(3),
    baseline,
    baselineGbps: +baselineGbps.toFixed(3),
    ratio: +(gbps / baselineGbps).toFixed(3),
    ...(note && { note }),
  });
}

/** Runs fn(i) repeatedly for about `seconds`; returns the best GB/s of 3 rounds. */
export function rate(bytesPerCall: number, fn: (i: number) => unknown, seconds = 0.4): number {
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let calls = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    do {
      for (let k = 0; k < 16; k++) fn(calls++);
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    } while (elapsed < seconds / 3);
    best = Math.max(best, (calls * bytesPerCall) / elapsed / GB);
  }
  return best;
}

/** Seconds taken by an async function. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export function print(json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ node: process.version, rows }, null, 2) + '\n');
    return;
  }
  const w = Math.max(...rows.map((r) => r.name.length));
  let section = '';
  for (const r of rows) {
    if (r.section !== section) {
      section = r.section;
      console.log(`\n## ${section}\n${'what'.padEnd(w)}    GB/s   ratio  baseline (GB/s)`);
    }
    console.log(
      `${r.name.padEnd(w)}  ${r.gbps.toFixed(3).padStart(6)}  ${r.ratio.toFixed(2).padStart(5)}x  ${r.baseline} (${r.baselineGbps.toFixed(3)})${r.note ? `  ${r.note}` : ''}`,
    );
  }
}
