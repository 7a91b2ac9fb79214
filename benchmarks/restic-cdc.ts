// Dedup under content-defined chunking: what restic (a real CDC engine) measures on `dgen put` data, per dedup
// unit and dedup ratio, beside what `dgen analyze --cdc` predicts for the same bytes.
//
//   npm run bench -- --only restic-cdc                   the README table (about 30 minutes on a busy 2-core machine)
//   node --import tsx benchmarks/restic-cdc.ts           the same, alone
//
// Environment (all optional):
//   DGEN_BENCH_DIR=/path          where data and repositories go (default: os.tmpdir()); one case at a time,
//                                 so it needs about twice DGEN_RESTIC_SIZE free
//   DGEN_RESTIC_SIZE=512MiB       bytes per case (4 objects, dataset dedup scope)
//   DGEN_RESTIC_UNITS=4KiB,...    dedup units (default 4KiB,64KiB,256KiB,1MiB,4MiB,16MiB,64MiB)
//   DGEN_RESTIC_DEDUP=2,5         dedup ratios
//   DGEN_RESTIC_ANALYZE=0         skip `dgen analyze` (restic only)
//
// Method:
// - dgen runs from a snapshot of bin/, dist/ and build/Release/dgen.node taken at the start (build them first).
// - `dgen put DIR --count 4 --size SIZE/4 --dedup D --dedup-unit U --dedup-scope dataset --seed 1`, built dist/.
// - restic: `restic init --repository-version 1` (format 1 has no compression, so the stored blob bytes are
//   the deduplicated bytes; format 2 would also compress), `restic backup` of the four objects, then
//   `restic stats --mode raw-data --json`: total_size is the bytes of the distinct blobs the snapshot
//   references (the data chunks plus one tree blob of well under 1 KiB). Measured dedup ratio =
//   sum of the objects' sizes / total_size. The mean chunk restic cut = stored bytes / data blobs
//   (`restic list blobs`). Every `restic init` draws a new random Rabin polynomial, so repeated runs differ a
//   little (see test/restic-cdc.test.ts for the spread).
// - Prediction: `dgen analyze --no-per-chunk --chunk-sizes U --cdc 512KiB,1MiB,8MiB` on the same objects
//   (FastCDC with restic's nominal min, average and max chunk sizes); predicted ratio = bytes / uniqueBytes.cdc.
//   The fixed-size ratio at U is the dedup ratio the data really has (n / K, rounded per the data model).
// - "stored per repeat": with n units of which K are unique, stored = K*U + (n-K)*O, where O is what each
//   repeated copy of a unit still costs under CDC (the chunks that straddle its edges, until the cut points
//   resynchronise). O = U * (1/r - 1/d) / (1 - 1/d), from the measured r and the real d.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const KiB = 1024;
const MiB = 1024 * KiB;
const repo = fileURLToPath(new URL('..', import.meta.url));
let dgenBin = join(repo, 'bin', 'dgen.js');
const json = process.argv.includes('--json');
const out = (s = '') => (json ? process.stderr : process.stdout).write(s + '\n');
const log = (s: string) => process.stderr.write(`  [restic-cdc] ${s}\n`);

/** "512MiB", "4KiB", "1048576" -> bytes. */
function bytesOf(s: string): number {
  const m = /^(\d+)\s*(KiB|MiB|GiB)?$/i.exec(s.trim());
  if (!m) throw new Error(`not a size: ${s}`);
  const mult = { kib: KiB, mib: MiB, gib: 1024 * MiB }[(m[2] ?? '').toLowerCase() as 'kib'] ?? 1;
  return Number(m[1]) * mult;
}
const label = (n: number) => (n >= MiB ? `${n / MiB} MiB` : `${n / KiB} KiB`);

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status ?? r.signal}\n${r.stderr}`);
  return r.stdout;
}

/** What restic stores for the given files, in a fresh repository (format 1: no compression). */
export function resticMeasure(files: string[], scratch: string): { logical: number; stored: number; dataBlobs: number } {
  const repoDir = join(scratch, 'repo');
  rmSync(repoDir, { recursive: true, force: true });
  const env = { RESTIC_PASSWORD: 'dgen', RESTIC_REPOSITORY: repoDir, RESTIC_CACHE_DIR: join(scratch, 'cache') };
  try {
    run('restic', ['init', '--repository-version', '1', '-q'], env);
    run('restic', ['backup', '-q', '--no-cache', ...files], env);
    const stats = JSON.parse(run('restic', ['stats', '--no-cache', '--mode', 'raw-data', '--json'], env)) as {
      total_size: number;
    };
    const blobs = run('restic', ['list', 'blobs', '--no-cache'], env)
      .split('\n')
      .filter((l) => l.startsWith('data ')).length;
    const logical = files.reduce((sum, f) => sum + statSync(f).size, 0);
    return { logical, stored: stats.total_size, dataBlobs: blobs };
  } finally {
    rmSync(repoDir, { recursive: true, force: true });
  }
}

/** Runs dgen from a copy of bin/, dist/ and the addon taken at the start, so a rebuild in the working tree
 * during the run (minutes) cannot break or mix it (as benchmarks/put-vs-fio.ts does). */
function snapshot(scratch: string): void {
  const addon = join(repo, 'build/Release/dgen.node');
  const main = join(repo, 'dist/cli/main.js');
  if (!existsSync(addon) || !existsSync(main))
    throw new Error(`dgen is not built (${existsSync(main) ? addon : main} missing): npm install`);
  const pkg = join(scratch, 'pkg');
  for (const p of ['bin', 'dist', 'package.json']) cpSync(join(repo, p), join(pkg, p), { recursive: true });
  mkdirSync(join(pkg, 'build/Release'), { recursive: true });
  cpSync(addon, join(pkg, 'build/Release/dgen.node'));
  symlinkSync(join(repo, 'node_modules'), join(pkg, 'node_modules'));
  dgenBin = join(pkg, 'bin', 'dgen.js');
}

interface Case {
  unit: number;
  dedup: number;
  realD: number; // fixed-size ratio at the unit (analyze), else the asked d
  restic: number;
  meanChunk: number; // bytes per data blob
  predicted?: number; // analyze --cdc, by bytes
  perRepeat: number; // O, bytes each repeated unit copy still costs
}

export async function benchResticCdc(): Promise<void> {
  if (spawnSync('restic', ['version']).status !== 0) {
    out('\n## restic-cdc\nskipped: no `restic` on PATH (apt-get install restic)');
    return;
  }
  const version = run('restic', ['version']).trim();
  const size = bytesOf(process.env.DGEN_RESTIC_SIZE ?? '512MiB');
  const units = (process.env.DGEN_RESTIC_UNITS ?? '4KiB,64KiB,256KiB,1MiB,4MiB,16MiB,64MiB').split(',').map(bytesOf);
  const dedups = (process.env.DGEN_RESTIC_DEDUP ?? '2,5').split(',').map(Number);
  const withAnalyze = process.env.DGEN_RESTIC_ANALYZE !== '0';
  const base = process.env.DGEN_BENCH_DIR ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const scratch = mkdtempSync(join(base, 'dgen-restic-cdc-'));
  const count = 4;
  const cases: Case[] = [];
  try {
    snapshot(scratch);
    for (const dedup of dedups) {
      for (const unit of units) {
        const dataDir = join(scratch, 'data');
        rmSync(dataDir, { recursive: true, force: true });
        run(process.execPath, [
          dgenBin,
          'put',
          dataDir,
          '--count',
          String(count),
          '--size',
          String(size / count),
          '--dedup',
          String(dedup),
          '--dedup-unit',
          String(unit),
          '--dedup-scope',
          'dataset',
          '--seed',
          '1',
          '--no-progress',
        ]);
        const files = readdirSync(dataDir)
          .filter((f) => f.endsWith('.bin'))
          .sort()
          .map((f) => join(dataDir, f));
        const m = resticMeasure(files, scratch);
        let realD = dedup;
        let predicted: number | undefined;
        if (withAnalyze) {
          const a = JSON.parse(
            run(process.execPath, [
              dgenBin,
              'analyze',
              ...files,
              '--json',
              '--no-progress',
              '--no-per-chunk',
              '--chunk-sizes',
              String(unit),
              '--cdc',
              '512KiB,1MiB,8MiB',
            ]),
          ) as { bytes: number; dedup: Record<string, number>; uniqueBytes: Record<string, number> };
          realD = a.dedup[String(unit)]!;
          predicted = a.bytes / a.uniqueBytes.cdc!;
        }
        rmSync(dataDir, { recursive: true, force: true });
        const restic = m.logical / m.stored;
        const perRepeat = realD > 1 ? (unit * (1 / restic - 1 / realD)) / (1 - 1 / realD) : 0;
        const c: Case = {
          unit,
          dedup,
          realD,
          restic,
          meanChunk: m.stored / m.dataBlobs,
          perRepeat,
          ...(predicted !== undefined && { predicted }),
        };
        cases.push(c);
        log(
          `d ${dedup} unit ${label(unit)}: restic ${restic.toFixed(3)}${predicted ? `, analyze --cdc ${predicted.toFixed(3)}` : ''}, real d ${realD.toFixed(3)}, ${m.dataBlobs} data blobs`,
        );
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  out(
    `\n## restic-cdc: dedup ratio under content-defined chunking (${version}; ${label(size)} per case, 4 objects, dataset scope, seed 1)`,
  );
  out(
    '| d | dedup unit | d at the unit (fixed-size chunks) | restic measures | `analyze --cdc 512KiB,1MiB,8MiB` predicts | restic mean chunk | stored per repeated unit |',
  );
  out('| --- | --- | --- | --- | --- | --- | --- |');
  for (const c of cases) {
    out(
      `| ${c.dedup} | ${label(c.unit)} | ${c.realD.toFixed(2)} | ${c.restic.toFixed(2)} | ${c.predicted?.toFixed(2) ?? '-'} | ${(c.meanChunk / MiB).toFixed(2)} MiB | ${c.perRepeat >= c.unit * 0.98 ? 'all of it' : `${(c.perRepeat / MiB).toFixed(2)} MiB`} |`,
    );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await benchResticCdc();
