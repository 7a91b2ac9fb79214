// `dgen put` against fio, both run as whole child processes writing the same bytes into the same directory.
//
//   npm run bench -- --only put-vs-fio            rows 1-3, and row 4 at 1e6 objects (without verify)
//   npm run bench -- --only put-vs-fio --huge     row 4 as separate runs of 1e6, 5e6 and 1e7 objects (hours)
//   npm run bench -- --only put-vs-fio --verify   also time `dgen verify` of the (first) row-4 run
//
// Environment (all optional):
//   DGEN_BENCH_DIR=/path    where the writers write (default: os.tmpdir()); `df -T` of it is printed
//   DGEN_BENCH_ROUNDS=3     alternating rounds per row
//   DGEN_BENCH_ROWS=1,2,3,4 which rows to run (5 and 6, large objects against fio and NPZ, only when named)
//   DGEN_BENCH_BASELINE=/path/bin/dgen.js   rows 5 and 6 also run this other build of dgen put (before/after)
//   DGEN_BENCH_HUGE=1       same as --huge;  DGEN_BENCH_VERIFY=1: same as --verify
//   DGEN_BENCH_OBJECTS=N,.. row 4 object counts, one run each (default 1e6; 1e6,5e6,1e7 with --huge)
//   DGEN_BENCH_SNAPSHOT=0   run bin/dgen.js in place instead of from a snapshot (see below)
//
// Method (see "Measuring writers fairly" in the background notes):
// - Every timed run starts from a deleted output directory and a `sync`, so no writer inherits another's dirty
//   pages; the writers alternate within each round (dgen first in even rounds, fio first in odd ones).
// - Wall seconds come from the clock around the child; user + sys CPU seconds and peak RSS (ru_maxrss) from GNU
//   time (`/usr/bin/time -f '%e %U %S %M'`), i.e. of the whole child process and the children it waited for.
//   Without GNU time a python3 wrapper reads the same getrusage(RUSAGE_CHILDREN) figures; without both, only
//   wall seconds are measured.
// - fio runs with `--thread`, so its jobs are threads of one process and its peak RSS is the whole of fio (with
//   forked jobs ru_maxrss would be the largest single job, about half of fio's total with 8 jobs).
// - Reported: the best (lowest) wall and CPU seconds of the rounds and the highest peak RSS; every round is
//   printed as well. Ratios are dgen / fio from the same run.
// - bin/dgen.js runs the built dist/ and build/Release/dgen.node, so run `npm run build:ts` (and
//   `npm run build:native`) first to measure the current sources. At the start the section copies bin/, dist/,
//   package.json and the addon into its scratch directory (node_modules linked) and runs that copy, so a rebuild
//   in the working tree during the run cannot mix two builds into one table.
// - Rows 1-3 also go through table.ts's row() (GB/s against fio); row 4 has no fio counterpart and is only in
//   this section's own tables.
// - A failing row is reported as a note and the other rows still run.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GB, row } from './table.js';

const MiB = 1024 * 1024;
const repo = fileURLToPath(new URL('..', import.meta.url));
let dgenBin = join(repo, 'bin', 'dgen.js');
const argv = process.argv.slice(2);
const flag = (name: string, env: string) => argv.includes(`--${name}`) || /^(1|true|yes)$/i.test(process.env[env] ?? '');
const json = argv.includes('--json');
/** The section's own tables and notes: stdout, or stderr when run.ts prints JSON on stdout. */
const out = (s = '') => (json ? process.stderr : process.stdout).write(s + '\n');
const log = (s: string) => process.stderr.write(`  [put-vs-fio] ${s}\n`);
const SECTION = 'put vs fio (whole processes, same bytes)';

interface Sample {
  wall: number; // seconds, clock around the child
  cpu?: number; // user + sys seconds
  rssMiB?: number; // peak RSS
}
interface Stats {
  rounds: Sample[];
  wall: number;
  cpu?: number;
  rssMiB?: number;
}

type Meter = 'gnu-time' | 'python3' | 'none';
const meter: Meter = existsSync('/usr/bin/time')
  ? 'gnu-time'
  : spawnSync('python3', ['-c', 'import resource']).status === 0
    ? 'python3'
    : 'none';
const PY_RUSAGE = `import resource,subprocess,sys
rc = subprocess.call(sys.argv[2:])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], 'w').write('%.2f %.2f %.2f %d\\n' % (0, u.ru_utime, u.ru_stime, u.ru_maxrss))
sys.exit(rc)`;

let scratch = '';
/** The command line that runs cmd under the resource meter, writing '%e %U %S %M' to `file`. */
function metered(cmd: string, args: string[], file: string): [string, string[]] {
  if (meter === 'gnu-time') return ['/usr/bin/time', ['-o', file, '-f', '%e %U %S %M', cmd, ...args]];
  if (meter === 'python3') return ['python3', ['-c', PY_RUSAGE, file, cmd, ...args]];
  return [cmd, args];
}
function readMeter(file: string, wall: number): Sample {
  if (meter === 'none' || !existsSync(file)) return { wall };
  const last = readFileSync(file, 'utf8').trim().split('\n').pop()!.trim().split(/\s+/).map(Number);
  rmSync(file, { force: true });
  return { wall, cpu: last[1] + last[2], rssMiB: last[3] / 1024 };
}

function sh(cmd: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * MiB });
}
function fresh(dir: string): void {
  // rm -rf is much faster than fs.rmSync for a million files.
  const r = sh('rm', ['-rf', dir]);
  if (r.status !== 0) throw new Error(`rm -rf ${dir}: ${r.stderr}`);
  mkdirSync(dir, { recursive: true });
  sh('sync', []);
}

/** One timed run of a whole child process; throws with its stderr when it fails. */
function runOnce(cmd: string, args: string[]): Sample {
  const file = join(scratch, `rusage-${process.pid}.txt`);
  const [c, a] = metered(cmd, args, file);
  const start = process.hrtime.bigint();
  const r = spawnSync(c, a, { encoding: 'utf8', maxBuffer: 256 * MiB, cwd: repo });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} exited ${r.status ?? r.signal} after ${wall.toFixed(0)} s: ${(r.stderr || r.stdout).slice(-2000)}`,
    );
  return readMeter(file, wall);
}

function summarize(rounds: Sample[]): Stats {
  const min = (xs: (number | undefined)[]) => (xs.every((x) => x !== undefined) ? Math.min(...(xs as number[])) : undefined);
  const max = (xs: (number | undefined)[]) => (xs.every((x) => x !== undefined) ? Math.max(...(xs as number[])) : undefined);
  return {
    rounds,
    wall: min(rounds.map((r) => r.wall))!,
    cpu: min(rounds.map((r) => r.cpu)),
    rssMiB: max(rounds.map((r) => r.rssMiB)),
  };
}

/** Regular files in dir with exactly `size` bytes (the manifest and the like are not counted). */
function countFiles(dir: string, size: number): { files: number; bytes: number } {
  let files = 0;
  for (const name of readdirSync(dir)) {
    const st = statSync(join(dir, name));
    if (st.isFile() && st.size === size) files++;
  }
  return { files, bytes: files * size };
}

interface Writer {
  label: string;
  cmd: string;
  /** Arguments, given a fresh empty output directory. */
  args: (dir: string) => string[];
  /** Counts what the run wrote, when not `count` top-level files of `size` bytes (e.g. NPZ under train/). */
  wrote?: (dir: string) => number;
}

/** Runs the writers alternately for `rounds` rounds from clean directories; checks each run's output. */
function alternate(base: string, writers: Writer[], rounds: number, expect: { count: number; size: number }): Stats[] {
  const samples: Sample[][] = writers.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = writers.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const w = writers[i];
      const dir = join(base, `w${i}`);
      fresh(dir);
      const s = runOnce(w.cmd, w.args(dir));
      const got = w.wrote ? w.wrote(dir) : countFiles(dir, expect.size).files;
      if (got !== expect.count)
        throw new Error(`${w.label} wrote ${got} files${w.wrote ? '' : ` of ${expect.size} bytes`}, expected ${expect.count}`);
      samples[i].push(s);
      log(`round ${r + 1}/${rounds} ${w.label}: ${fmtSample(s)}`);
      sh('rm', ['-rf', dir]);
    }
  }
  sh('sync', []);
  return samples.map(summarize);
}

const f2 = (x: number | undefined, d = 2) => (x === undefined ? 'n/a' : x.toFixed(d));
const fmtSample = (s: Sample) => `wall ${f2(s.wall)} s, cpu ${f2(s.cpu)} s, peak RSS ${f2(s.rssMiB, 0)} MiB`;
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a / b);

interface MdRow {
  row: string;
  dgen: string;
  fio: string;
  ratio: string;
  target: string;
  met: string;
}
const md: MdRow[] = [];
const notes: string[] = [];
function mdRow(
  rowName: string,
  dgen: string,
  fio: string,
  r: number | undefined,
  target: string,
  met: boolean | undefined,
): void {
  md.push({
    row: rowName,
    dgen,
    fio,
    ratio: r === undefined ? '—' : `${r.toFixed(2)}x`,
    target,
    met: met === undefined ? '—' : met ? 'yes' : 'no',
  });
}
const atMost = (x: number | undefined, limit: number) => (x === undefined ? undefined : x <= limit);
const atLeast = (x: number | undefined, limit: number) => (x === undefined ? undefined : x >= limit);

function detail(title: string, names: string[], stats: Stats[]): void {
  out(`\n### ${title}`);
  for (let i = 0; i < names.length; i++) {
    const s = stats[i];
    out(`${names[i]}: best wall ${f2(s.wall)} s, best cpu ${f2(s.cpu)} s, highest peak RSS ${f2(s.rssMiB, 0)} MiB`);
    out(
      `    rounds: ${s.rounds.map((r) => `${f2(r.wall)}/${f2(r.cpu)}/${f2(r.rssMiB, 0)}`).join('  ')}  (wall s / cpu s / RSS MiB)`,
    );
  }
}

/** Copies the built package into base/pkg and returns a description of the build it copied. */
function snapshot(base: string): string {
  const addon = join(repo, 'build/Release/dgen.node');
  const main = join(repo, 'dist/cli/main.js');
  if (!existsSync(addon) || !existsSync(main))
    throw new Error(`dgen is not built (${existsSync(main) ? addon : main} missing): npm install`);
  const built = `dist/ built ${statSync(main).mtime.toISOString()}, addon built ${statSync(addon).mtime.toISOString()}`;
  if (/^(0|false|no)$/i.test(process.env.DGEN_BENCH_SNAPSHOT ?? '')) return `bin/dgen.js run in place; ${built}`;
  const pkg = join(base, 'pkg');
  for (const p of ['bin', 'dist', 'package.json']) cpSync(join(repo, p), join(pkg, p), { recursive: true });
  mkdirSync(join(pkg, 'build/Release'), { recursive: true });
  cpSync(addon, join(pkg, 'build/Release/dgen.node'));
  symlinkSync(join(repo, 'node_modules'), join(pkg, 'node_modules'));
  dgenBin = join(pkg, 'bin', 'dgen.js');
  const probe = join(base, 'probe');
  runOnce(process.execPath, [dgenBin, 'put', probe, '--count', '2', '--size', '64KiB', '--no-progress', '--json']);
  sh('rm', ['-rf', probe]);
  return `a snapshot of bin/, dist/ and the addon taken at the start (${built})`;
}

function machine(base: string, fio: string | undefined): { oDirect: boolean } {
  const df = sh('df', ['-T', base]).stdout.trim().split('\n').pop() ?? '';
  const [device, fsType] = df.split(/\s+/);
  const probe = join(base, '.odirect-probe');
  const dd = sh('dd', ['if=/dev/zero', `of=${probe}`, 'bs=1M', 'count=4', 'oflag=direct']);
  rmSync(probe, { force: true });
  const oDirect = dd.status === 0;
  const thp = existsSync('/sys/kernel/mm/transparent_hugepage/enabled')
    ? readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').trim()
    : 'n/a';
  const head = sh('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']).stdout.trim();
  const built = snapshot(base);
  const dirty = sh('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=no', 'lib', 'cpp'])
    .stdout.trim()
    .split('\n')
    .filter(Boolean).length;
  out(`\n## ${SECTION}: machine`);
  out(
    `nproc ${availableParallelism()}, ${cpus()[0]?.model ?? '?'}, kernel ${release()}, node ${process.version}, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  out(`transparent huge pages: ${thp}`);
  out(
    `directory ${base}: ${fsType} on ${device}; O_DIRECT (dd oflag=direct) ${oDirect ? 'works' : `REFUSED: ${dd.stderr.trim().split('\n').pop()}`}`,
  );
  out(
    `git HEAD ${head}${dirty ? ` (${dirty} files under lib/ and cpp/ modified in the working tree)` : ''}; dgen runs from ${built}`,
  );
  out(`fio: ${fio ?? 'NOT INSTALLED: the fio rows are skipped, dgen is measured alone'}`);
  out(
    `resource meter: ${meter === 'gnu-time' ? "GNU time (/usr/bin/time -f '%e %U %S %M')" : meter === 'python3' ? 'GNU time missing: python3 getrusage(RUSAGE_CHILDREN) wrapper (same figures)' : 'GNU time and python3 missing: wall seconds only'}`,
  );
  return { oDirect };
}

// ---------------------------------------------------------------------------------------------- rows 1 and 3
const BIG = { count: 8, size: 512 * MiB };
function bigRow(base: string, fio: string | undefined, rounds: number, direct: boolean): void {
  const name = direct ? '3. direct I/O, 8 x 512 MiB, dedup 2, compress 3' : '1. 8 x 512 MiB, dedup 2, compress 3';
  const bytes = BIG.count * BIG.size;
  const dgenArgs = (concurrency: number) => (dir: string) => [
    dgenBin,
    'put',
    direct ? `direct://${dir}` : dir,
    '--count',
    String(BIG.count),
    '--size',
    '512MiB',
    '--dedup',
    '2',
    '--compress',
    '3',
    '--concurrency',
    String(concurrency),
    '--seed',
    '1',
    '--no-progress',
    '--json',
  ];
  const writers: Writer[] = [{ label: 'dgen put --concurrency 2', cmd: process.execPath, args: dgenArgs(2) }];
  if (direct) writers.push({ label: 'dgen put --concurrency 8', cmd: process.execPath, args: dgenArgs(8) });
  if (fio) {
    writers.push({
      label: `fio 8 jobs${direct ? ' --direct=1' : ''}`,
      cmd: 'fio',
      args: (dir) => [
        '--name=w',
        `--directory=${dir}`,
        '--rw=write',
        '--bs=4m',
        '--size=512m',
        '--numjobs=8',
        '--ioengine=psync',
        '--dedupe_percentage=50',
        '--buffer_compress_percentage=67',
        '--refill_buffers',
        '--group_reporting',
        '--thread',
        ...(direct ? ['--direct=1'] : []),
        '--output-format=terse',
      ],
    });
  }
  log(`${name}: ${rounds} rounds of ${writers.map((w) => w.label).join(', ')}`);
  const stats = alternate(base, writers, rounds, BIG);
  detail(
    name,
    writers.map((w) => w.label),
    stats,
  );
  const f = fio ? stats[stats.length - 1] : undefined;
  const dgenStats = stats.slice(0, fio ? -1 : undefined);
  dgenStats.forEach((d, i) => {
    const label = writers[i].label.replace('dgen put ', '');
    const rss = `peak RSS ${f2(d.rssMiB, 0)} MiB${f ? ` (fio ${f2(f.rssMiB, 0)})` : ''}`;
    if (f)
      row(
        SECTION,
        `${name}, ${label}`,
        bytes / d.wall / GB,
        `fio${direct ? ' --direct=1' : ''}, 8 jobs psync bs 4m`,
        bytes / f.wall / GB,
        `cpu ${f2(d.cpu)} s vs ${f2(f.cpu)} s, ${rss}`,
      );
    else
      row(
        SECTION,
        `${name}, ${label}`,
        bytes / d.wall / GB,
        'itself (fio not installed)',
        bytes / d.wall / GB,
        `cpu ${f2(d.cpu)} s, ${rss}`,
      );
    if (direct) {
      const r = f && f.wall / d.wall;
      mdRow(
        `${name}: GB/s, ${label}`,
        f2(bytes / d.wall / GB),
        f ? f2(bytes / f.wall / GB) : 'n/a',
        r,
        '>= 0.9x fio',
        atLeast(r, 0.9),
      );
      mdRow(`${name}: peak RSS MiB, ${label}`, f2(d.rssMiB, 0), f2(f?.rssMiB, 0), ratio(d.rssMiB, f?.rssMiB), '—', undefined);
    } else {
      const rw = f && d.wall / f.wall;
      const rc = ratio(d.cpu, f?.cpu);
      mdRow(`${name}: wall s, ${label}`, f2(d.wall), f2(f?.wall), rw, '<= 0.8x fio', atMost(rw, 0.8));
      mdRow(`${name}: user+sys CPU s, ${label}`, f2(d.cpu), f2(f?.cpu), rc, '<= 1.0x fio', atMost(rc, 1.0));
      mdRow(
        `${name}: peak RSS MiB, ${label}`,
        f2(d.rssMiB, 0),
        f2(f?.rssMiB, 0),
        ratio(d.rssMiB, f?.rssMiB),
        '<= 64 MiB',
        atMost(d.rssMiB, 64),
      );
    }
  });
}

// ---------------------------------------------------------------------------------------------------- row 2
const SMALL = { count: 20000, size: 4096 };
function smallRow(base: string, fio: string | undefined, rounds: number): void {
  const name = '2. 20,000 x 4 KiB files';
  const dgenArgs = (concurrency?: number) => (dir: string) => [
    dgenBin,
    'put',
    dir,
    '--count',
    String(SMALL.count),
    '--size',
    '4KiB',
    ...(concurrency ? ['--concurrency', String(concurrency)] : []),
    '--seed',
    '1',
    '--no-progress',
    '--json',
  ];
  const writers: Writer[] = [
    { label: 'dgen put, default --concurrency (4)', cmd: process.execPath, args: dgenArgs() },
    { label: 'dgen put --concurrency 64', cmd: process.execPath, args: dgenArgs(64) },
  ];
  if (fio) {
    // One job, one file per 4 KiB write. --create_on_open=1 creates each file when the job opens it (one
    // open(O_CREAT) per file, as dgen does) instead of a layout pass that creates and fallocates all 20,000
    // first and opens them again; --openfiles=64 because fio otherwise keeps all 20,000 open at once (EMFILE
    // at the usual limit); --refill_buffers so fio, like dgen, writes fresh random data into every file.
    writers.push({
      label: 'fio 1 job, nrfiles 20000',
      cmd: 'fio',
      args: (dir) => [
        '--name=s',
        `--directory=${dir}`,
        '--rw=write',
        '--bs=4k',
        '--filesize=4k',
        `--nrfiles=${SMALL.count}`,
        '--openfiles=64',
        '--create_on_open=1',
        '--ioengine=psync',
        '--refill_buffers',
        '--output-format=terse',
      ],
    });
  }
  log(`${name}: ${rounds} rounds of ${writers.map((w) => w.label).join(', ')}`);
  const stats = alternate(base, writers, rounds, SMALL);
  detail(
    name,
    writers.map((w) => w.label),
    stats,
  );
  const f = fio ? stats[stats.length - 1] : undefined;
  const bytes = SMALL.count * SMALL.size;
  stats.slice(0, 2).forEach((d, i) => {
    const label = writers[i].label.replace('dgen put', '').replace(/^,? ?/, '');
    const fps = SMALL.count / d.wall;
    const ffps = f && SMALL.count / f.wall;
    const note = `${fps.toFixed(0)} files/s${ffps ? ` vs ${ffps.toFixed(0)}` : ''}, cpu ${f2(d.cpu)} s${f ? ` vs ${f2(f.cpu)} s` : ''}, peak RSS ${f2(d.rssMiB, 0)} MiB${f ? ` (fio ${f2(f.rssMiB, 0)})` : ''}`;
    row(
      SECTION,
      `${name}, ${label}`,
      bytes / d.wall / GB,
      f ? 'fio, 1 job, nrfiles 20000' : 'itself (fio not installed)',
      bytes / (f ?? d).wall / GB,
      note,
    );
    const r = ratio(fps, ffps);
    mdRow(`${name}: files/s, ${label}`, fps.toFixed(0), ffps ? ffps.toFixed(0) : 'n/a', r, '>= 1.0x fio', atLeast(r, 1.0));
    mdRow(
      `${name}: peak RSS MiB, ${label}`,
      f2(d.rssMiB, 0),
      f2(f?.rssMiB, 0),
      ratio(d.rssMiB, f?.rssMiB),
      '<= 64 MiB',
      atMost(d.rssMiB, 64),
    );
  });
}

// ------------------------------------------------------------------------------------------------ rows 5 and 6
// Large objects, compress 2: raw `dgen put` against fio (psync, bs 4m, one file per object, as many jobs as
// cores, each writing its share of the files one after the other) and against `dgen put --format npz` of
// the same count and payload (one sample of the same size per file, under train/; its few hundred bytes of
// headers are not counted in its GB/s). With DGEN_BENCH_BASELINE another build's `dgen put` runs too.
// About 1-2 GiB per run, under the kernel's dirty-page threshold on a machine with 16 GiB or more: above it
// (4.4 GiB, 2026-12-02, load 17) every writer ran at the disk's speed and all four took 27-30 s.
const LARGE: Record<'5' | '6', { count: number; size: number; label: string }> = {
  '5': { count: 8, size: 140 * MiB, label: '5. 8 x 140 MiB (unet3d-like), compress 2' },
  '6': { count: 2, size: 1024 * MiB, label: '6. 2 x 1 GiB, compress 2' },
};
function npzFiles(dir: string): number {
  const train = join(dir, 'train');
  return existsSync(train) ? readdirSync(train).filter((f) => f.endsWith('.npz')).length : 0;
}
function largeRow(base: string, fio: string | undefined, rounds: number, id: '5' | '6'): void {
  const { count, size, label: name } = LARGE[id];
  const common = ['--count', String(count), '--compress', '2', '--seed', '1', '--no-progress', '--json'];
  const sizeArg = `${size / MiB}MiB`;
  const writers: Writer[] = [
    { label: 'dgen put', cmd: process.execPath, args: (dir) => [dgenBin, 'put', dir, '--size', sizeArg, ...common] },
    {
      label: 'dgen put --format npz',
      cmd: process.execPath,
      args: (dir) => [dgenBin, 'put', dir, '--format', 'npz', '--samples', '1', '--record-length', sizeArg, ...common],
      wrote: npzFiles,
    },
  ];
  const baseline = process.env.DGEN_BENCH_BASELINE;
  if (baseline)
    writers.push({
      label: 'dgen put (baseline build)',
      cmd: process.execPath,
      args: (dir) => [baseline, 'put', dir, '--size', sizeArg, ...common],
    });
  const jobs = Math.min(count, availableParallelism());
  if (fio) {
    writers.push({
      label: `fio ${jobs} jobs psync`,
      cmd: 'fio',
      args: (dir) => [
        '--name=l',
        `--directory=${dir}`,
        '--rw=write',
        '--bs=4m',
        `--filesize=${size / MiB}m`,
        `--nrfiles=${Math.ceil(count / jobs)}`,
        '--file_service_type=sequential',
        `--numjobs=${jobs}`,
        '--ioengine=psync',
        '--buffer_compress_percentage=50',
        '--refill_buffers',
        '--group_reporting',
        '--thread',
        '--output-format=terse',
      ],
    });
  }
  // fio's jobs write whole shares: the count it writes is jobs x ceil(count / jobs).
  const fioCount = jobs * Math.ceil(count / jobs);
  if (fio && fioCount !== count) throw new Error(`row ${id}: ${count} files do not split over ${jobs} fio jobs`);
  log(`${name}: ${rounds} rounds of ${writers.map((w) => w.label).join(', ')}`);
  const stats = alternate(base, writers, rounds, { count, size });
  detail(
    name,
    writers.map((w) => w.label),
    stats,
  );
  const bytes = count * size;
  const f = fio ? stats[stats.length - 1] : undefined;
  const npz = stats[1]!;
  stats.slice(0, fio ? -1 : undefined).forEach((d, i) => {
    const label = writers[i]!.label;
    const rss = `peak RSS ${f2(d.rssMiB, 0)} MiB${f ? ` (fio ${f2(f.rssMiB, 0)})` : ''}`;
    row(
      SECTION,
      `${name}, ${label}`,
      bytes / d.wall / GB,
      f ? `fio, ${jobs} jobs psync bs 4m` : 'itself (fio not installed)',
      bytes / (f ?? d).wall / GB,
      `cpu ${f2(d.cpu)} s${f ? ` vs ${f2(f.cpu)} s` : ''}, ${rss}, ${f2(npz.wall / d.wall)}x the NPZ put's GB/s`,
    );
    const r = f && f.wall / d.wall;
    mdRow(
      `${name}: GB/s, ${label}`,
      f2(bytes / d.wall / GB),
      f ? f2(bytes / f.wall / GB) : 'n/a',
      r,
      '>= 1.0x fio',
      atLeast(r, 1.0),
    );
    if (i !== 1) {
      const rn = npz.wall / d.wall;
      mdRow(
        `${name}: GB/s, ${label} against NPZ`,
        f2(bytes / d.wall / GB),
        'NPZ ' + f2(bytes / npz.wall / GB),
        rn,
        '>= 1.0x NPZ',
        atLeast(rn, 1.0),
      );
    }
    mdRow(`${name}: peak RSS MiB, ${label}`, f2(d.rssMiB, 0), f2(f?.rssMiB, 0), ratio(d.rssMiB, f?.rssMiB), '—', undefined);
  });
}

// ---------------------------------------------------------------------------------------------------- row 4
/** The pid of a child of `parent` (GNU time's child, i.e. node), or undefined while it does not exist yet. */
function childOf(parent: number): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
function vmHwmMiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface PutRun {
  count: number;
  wall: number;
  cpu?: number;
  rssMiB?: number;
  /** Peak RSS by about count/10 and count/2 objects, from samples during the run. */
  marks: { mark: number; seconds: number; rssMiB?: number }[];
}

/**
 * One put of `count` 512-byte objects into `dir`. Peak RSS (VmHWM of the node process) is sampled every 0.5 s
 * with the directory's size; objects written by a sample's time are estimated as count x size / final size
 * (a directory of equal-length names grows about linearly with its entries: within +-3% on ext4), which,
 * unlike counting free inodes, is not thrown off by other processes creating or deleting files meanwhile.
 */
async function putMany(dir: string, count: number): Promise<PutRun> {
  const file = join(scratch, `rusage-many-${process.pid}.txt`);
  const args = [dgenBin, 'put', dir, '--count', String(count), '--size', '512', '--seed', '1', '--no-progress', '--json'];
  const [c, a] = metered(process.execPath, args, file);
  const start = process.hrtime.bigint();
  const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], cwd: repo });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  let node: number | undefined = meter === 'none' ? child.pid : undefined;
  const samples: { seconds: number; dirSize: number; rssMiB?: number }[] = [];
  let lastLog = 0;
  const sampler = setInterval(() => {
    if (node === undefined && child.pid !== undefined) node = childOf(child.pid);
    if (node === undefined) return;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    let dirSize = 0;
    try {
      dirSize = statSync(dir).size;
    } catch {
      return;
    }
    const rssMiB = vmHwmMiB(node) ?? samples[samples.length - 1]?.rssMiB;
    samples.push({ seconds, dirSize, rssMiB });
    if (seconds - lastLog >= 60) {
      lastLog = seconds;
      log(`  ${seconds.toFixed(0)} s: directory ${(dirSize / MiB).toFixed(1)} MiB, peak RSS so far ${f2(rssMiB, 0)} MiB`);
    }
  }, 500);
  const code: number | null = await new Promise((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (code !== 0) throw new Error(`dgen put of ${count} objects exited ${code}: ${stderr}`);
  const put = readMeter(file, wall);
  const finalSize = statSync(dir).size;
  const marks = [count / 10, count / 2].map((mark) => {
    const sample = samples.find((x) => (x.dirSize / finalSize) * count >= mark);
    return { mark, seconds: sample?.seconds ?? NaN, rssMiB: sample?.rssMiB };
  });
  return { count, wall, cpu: put.cpu, rssMiB: put.rssMiB ?? samples[samples.length - 1]?.rssMiB, marks };
}

const short = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

/** Row 4: separate puts of each count (1e6; with --huge 1e6, 5e6 and 1e7), then `dgen verify` of the first. */
async function manyRow(base: string, counts: number[], verify: boolean): Promise<void> {
  const name = '4. 512 B objects into one directory';
  const first: { rssMiB?: number } = {};
  for (const [i, count] of counts.entries()) {
    const need = count * 4096 * 1.1 + 2 * 1024 * MiB; // one 4 KiB block per file on most file systems, plus the manifest
    const fs = statfsSync(base);
    if (fs.bavail * fs.bsize < need || fs.ffree < count * 1.05) {
      const msg = `${name}, ${short(count)}: skipped, ${base} has ${((fs.bavail * fs.bsize) / GB).toFixed(1)} GB and ${fs.ffree} inodes free, needs about ${(need / GB).toFixed(1)} GB and ${count} inodes`;
      out(`\n${msg}`);
      notes.push(msg);
      continue;
    }
    const dir = join(base, 'many');
    fresh(dir);
    log(`${name}: put of ${count} objects (default --concurrency)`);
    const r = await putMany(dir, count);
    out(`\n### ${name}: ${short(count)} objects`);
    out(
      `put: wall ${f2(r.wall)} s (${(count / r.wall).toFixed(0)} objects/s), cpu ${f2(r.cpu)} s, peak RSS ${f2(r.rssMiB, 0)} MiB`,
    );
    for (const m of r.marks) out(`    peak RSS by ~${short(m.mark)} objects (${m.seconds.toFixed(0)} s): ${f2(m.rssMiB, 0)} MiB`);
    out(`    (objects at a sample's time estimated from the directory's size; the whole-run figure is GNU time's)`);
    first.rssMiB ??= r.rssMiB;
    const growth = i === 0 ? ratio(r.rssMiB, r.marks[0].rssMiB) : ratio(r.rssMiB, first.rssMiB);
    const against = i === 0 ? `vs ~${short(r.marks[0].mark)} in the same run` : `vs the ${short(counts[0])} run`;
    mdRow(
      `${name}: peak RSS MiB, ${short(count)} objects (ratio ${against})`,
      f2(r.rssMiB, 0),
      '—',
      growth,
      'flat (<= 1.1x), <= 64 MiB',
      r.rssMiB === undefined ? undefined : r.rssMiB <= 64 && (growth ?? 1) <= 1.1,
    );
    mdRow(`${name}: put objects/s, ${short(count)} objects`, (count / r.wall).toFixed(0), '—', undefined, '—', undefined);

    if (i === 0 && verify) {
      sh('sync', []);
      log(`${name}: dgen verify of the ${count}-object run`);
      const v = runOnce(process.execPath, [dgenBin, 'verify', dir]);
      out(
        `verify: wall ${f2(v.wall)} s (${(count / v.wall).toFixed(0)} objects/s), cpu ${f2(v.cpu)} s, peak RSS ${f2(v.rssMiB, 0)} MiB`,
      );
      mdRow(`${name}: dgen verify wall s, ${short(count)} objects`, f2(v.wall), '—', undefined, '—', undefined);
      mdRow(
        `${name}: dgen verify peak RSS MiB, ${short(count)} objects`,
        f2(v.rssMiB, 0),
        '—',
        undefined,
        '<= 64 MiB',
        atMost(v.rssMiB, 64),
      );
    }
    const t = process.hrtime.bigint();
    sh('rm', ['-rf', dir]);
    sh('sync', []);
    log(`${name}: ${count} objects removed in ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(0)} s`);
  }
  if (!verify)
    notes.push(
      "row 4: dgen verify not timed (opt in with --verify or DGEN_BENCH_VERIFY=1; at today's speed it takes several times longer than the put)",
    );
}

export async function benchPutVsFio(): Promise<void> {
  const base = join(process.env.DGEN_BENCH_DIR ?? tmpdir(), `dgen-put-vs-fio-${process.pid}`);
  mkdirSync(base, { recursive: true });
  scratch = base;
  const rounds = Number(process.env.DGEN_BENCH_ROUNDS ?? 3);
  const rows = new Set((process.env.DGEN_BENCH_ROWS ?? '1,2,3,4').split(',').map((s) => s.trim()));
  const huge = flag('huge', 'DGEN_BENCH_HUGE');
  const verify = flag('verify', 'DGEN_BENCH_VERIFY');
  const counts = (process.env.DGEN_BENCH_OBJECTS ?? (huge ? '1e6,5e6,1e7' : '1e6')).split(',').map(Number);
  const fioV = sh('fio', ['--version']);
  const fio = fioV.status === 0 ? fioV.stdout.trim() : undefined;
  const started = Date.now();
  try {
    const { oDirect } = machine(base, fio);
    out(
      `rounds ${rounds}, writers alternate, output deleted and synced before every run; best (lowest) wall and CPU, highest peak RSS`,
    );
    if (!fio) notes.push('fio is not installed: fio rows skipped (apt-get install -y fio)');
    if (meter !== 'gnu-time')
      notes.push(
        meter === 'python3'
          ? 'GNU time missing (apt-get install -y time): CPU and RSS from a python3 getrusage wrapper'
          : 'GNU time and python3 missing: no CPU or RSS figures',
      );
    const guarded = async (id: string, run: () => unknown): Promise<void> => {
      if (!rows.has(id)) return;
      const load = loadavg()[0];
      if (load > availableParallelism())
        notes.push(
          `row ${id} started at a 1-minute load average of ${load.toFixed(1)} on ${availableParallelism()} CPUs: other processes competed with both writers`,
        );
      try {
        await run();
      } catch (e) {
        const msg = `row ${id} failed: ${(e as Error).message.split('\n')[0].slice(0, 600)}`;
        log(msg);
        notes.push(msg);
      }
    };
    await guarded('1', () => bigRow(base, fio, rounds, false));
    await guarded('2', () => smallRow(base, fio, rounds));
    await guarded('3', () => {
      if (oDirect) bigRow(base, fio, rounds, true);
      else notes.push(`row 3 skipped: O_DIRECT is refused on ${base} (set DGEN_BENCH_DIR to a directory on a disk file system)`);
    });
    await guarded('4', () => manyRow(base, counts, verify));
    await guarded('5', () => largeRow(base, fio, rounds, '5'));
    await guarded('6', () => largeRow(base, fio, rounds, '6'));
  } finally {
    sh('rm', ['-rf', base]);
  }
  out(
    `\n### ${SECTION}: for the README (${new Date().toISOString().slice(0, 10)}, nproc ${availableParallelism()}, ${rounds} rounds, best of each; section took ${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
  out('| row | dgen | fio | ratio | target | met? |');
  out('| --- | --- | --- | --- | --- | --- |');
  for (const r of md) out(`| ${r.row} | ${r.dgen} | ${r.fio} | ${r.ratio} | ${r.target} | ${r.met} |`);
  for (const n of notes) out(`\nNote: ${n}`);
}
