// dgen put's live reports off a terminal (a pod's log, CI, nohup): status lines every --status-interval,
// NDJSON progress events with --json; the final report's latency, realized ratios and stored bytes, checked
// against the files; --duration. Runs are paced (--rate) so that they last a few seconds whatever the load,
// and take the stream data plane, which measures each object's latency. No timing is asserted.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { dedupRatio, hasTool } from './fixtures/helpers.js';

const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));

/** Runs dgen with stdout and stderr as pipes (not terminals), as a log collector would. */
function dgen(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dgen-cli-live-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const SIZE = /[\d.]+(B|KiB|MiB|GiB)/.source;
const STATUS = new RegExp(
  `^dgen put: [\\d.]+ s, \\d+/8 objects, ${SIZE} of 4MiB, ${SIZE}/s now, ${SIZE}/s average(, commit latency p50 [\\d.]+ ms, p99 [\\d.]+ ms)?$`,
);

t.test('off a terminal: a status line every --status-interval, latency in it and in the summary', async (t) => {
  const dir = join(await tempDir(t), 'run');
  // 4 MiB at 1 MiB/s: about 4 s, whatever the machine.
  const r = await dgen([
    'put',
    dir,
    '--count',
    '8',
    '--size',
    '512k',
    '--dedup',
    '2',
    '--seed',
    '9',
    '--rate',
    '1m',
    '--status-interval',
    '200ms',
  ]);
  t.equal(r.status, 0, r.stderr);
  const lines = r.stderr.split('\n');
  const status = lines.filter((l) => l.startsWith('dgen put: ') && / s, \d+\/8 objects/.test(l));
  t.ok(status.length >= 2, `status lines appeared (${status.length})`);
  for (const line of status) t.match(line, STATUS, 'objects, bytes of the total, current and average rate');
  t.ok(
    status.some((l) => / commit latency p50 [\d.]+ ms, p99 [\d.]+ ms$/.test(l)),
    'latency so far, once objects have committed',
  );
  // The summary: human sizes, latency percentiles, the realized dedup ratio, which the files have.
  t.match(r.stderr, /\n {2}seed 9, size 512KiB, dedup 2 \(object scope, realized [\d.]+\), compress 1, dedup unit 4KiB\n/);
  t.match(
    r.stderr,
    /\n {2}latency per object \(8 objects\): commit p50 [\d.]+ ms, p90 [\d.]+ ms, p99 [\d.]+ ms, p99\.9 [\d.]+ ms, max [\d.]+ ms\n/,
  );
  const realized = Number(/realized ([\d.]+)\)/.exec(r.stderr)![1]);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.bin')).sort();
  t.equal(files.length, 8);
  const measured = dedupRatio(await Promise.all(files.map((f) => readFile(join(dir, f)))), 4096);
  t.ok(Math.abs(realized - measured) < 1e-3, `realized dedup ratio ${realized} is what the files have (${measured})`);
});

t.test('--json: NDJSON progress events on stderr; the report has latency, realized ratios and stored bytes', async (t) => {
  const dir = join(await tempDir(t), 'run');
  const r = await dgen([
    'put',
    dir,
    '--count',
    '8',
    '--size',
    '512k',
    '--dedup',
    '2',
    '--compress',
    '3',
    '--seed',
    '9',
    '--compression',
    'zstd',
    '--rate',
    '1m',
    '--status-interval',
    '200ms',
    '--json',
  ]);
  t.equal(r.status, 0, r.stderr);
  const events = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  t.ok(events.length >= 2, `progress events appeared (${events.length})`);
  for (const e of events) {
    t.match(e, { event: 'progress', objectsTotal: 8, bytesTotal: 4 << 20, objectsFailed: 0 });
    t.ok(
      e.bytesDone >= 0 && e.bytesDone <= 4 << 20 && e.elapsedSeconds > 0 && e.averageBytesPerSecond >= 0 && e.bytesPerSecond >= 0,
    );
  }
  t.ok(
    events.some((e) => e.latency?.commit?.count > 0),
    'latency so far in the events',
  );
  const report = JSON.parse(r.stdout);
  t.match(report, { ok: true, committed: 8, bytes: 4 << 20 });
  t.match(report.latency.commit, { count: 8 });
  const c = report.latency.commit;
  t.ok(c.min <= c.p50 && c.p50 <= c.p90 && c.p90 <= c.p99 && c.p99 <= c.p999 && c.p999 <= c.max, 'percentiles in order');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.bin.zst'));
  t.equal(files.length, 8);
  let stored = 0;
  for (const f of files) stored += (await stat(join(dir, f))).size;
  t.equal(report.storedBytes, stored, 'stored bytes: the compressed files on disk');
  t.equal(report.compressedBytes, stored);
  t.ok(Math.abs(report.realizedCompressionRatio - (4 << 20) / stored) < 1e-9, 'compression ratio: bytes / stored bytes');
  const manifest = JSON.parse(await readFile(join(dir, 'dgen-manifest.json'), 'utf8'));
  t.equal(manifest.compressedBytes, report.storedBytes, 'as the manifest says');
  t.equal(manifest.bytes, report.bytes);
  if (hasTool('zstd')) {
    const raw = files.map((f) => execFileSync('zstd', ['-dc', join(dir, f)]));
    t.ok(
      Math.abs(report.realizedDedupRatio - dedupRatio(raw, 4096)) < 1e-3,
      `realized dedup ratio ${report.realizedDedupRatio} is what the objects have (zstd -d)`,
    );
  }
});

t.test('--duration: objects keep coming until the time is up; the manifest records how many', async (t) => {
  const dir = join(await tempDir(t), 'run');
  const r = await dgen([
    'put',
    dir,
    '--duration',
    '2s',
    '--size',
    '64k',
    '--rate',
    '256k',
    '--seed',
    '4',
    '--json',
    '--no-progress',
  ]);
  t.equal(r.status, 0, r.stderr);
  t.notMatch(r.stderr, /"event"/, '--no-progress: no events');
  const report = JSON.parse(r.stdout);
  const manifest = JSON.parse(await readFile(join(dir, 'dgen-manifest.json'), 'utf8'));
  const files = (await readdir(dir)).filter((f) => f.endsWith('.bin'));
  t.ok(report.committed >= 1, `${report.committed} objects`);
  t.equal(manifest.committed, report.committed);
  t.equal(files.length, report.committed, 'one file per committed object');
});
