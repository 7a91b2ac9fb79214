// Reports, rates and durations of bulk puts (lib/put.ts, lib/latency.ts, lib/object-store-put.ts):
// per-object latency summaries checked for consistency and against the manifest on disk, the realized
// dedup ratio against SHA-256 chunk hashes of the files written, the realized compression ratio against
// the sizes on disk, time-based runs whose manifest count equals their records (verified by regeneration
// and merged across shards), run-wide rates that never exceed the rate asked (bytes / elapsed, a bound
// from above only: a loaded machine is slower, never faster), and the option errors, with nothing created.
// Real files in temporary directories; s3rver and Azurite as child processes on 127.0.0.1.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { putObjects, type PutProgress, type PutResult } from '../lib/put.js';
import { manifestName, mergeShardManifests, readManifestRecords, type ManifestLine, type ManifestV2 } from '../lib/manifest.js';
import { verifyObjects } from '../lib/verify.js';
import { LatencyRecorder, type LatencySummary } from '../lib/latency.js';
import { parseDataOptions } from '../lib/params.js';
import { dedupRatio } from './fixtures/helpers.js';
import { startAzurite, startS3rver } from './fixtures/servers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const root = await mkdtemp(join(tmpdir(), 'dgen-put-reports-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `run-${n++}`);
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

async function linesOf(result: PutResult): Promise<ManifestLine[]> {
  const lines: ManifestLine[] = [];
  for await (const line of readManifestRecords(result, result.manifestUri)) lines.push(line);
  return lines.sort((a, b) => Number(a.objectId) - Number(b.objectId));
}

/** The manifest as stored (read back from the file, not the result). */
async function storedManifest(target: string, name = 'dgen-manifest.json'): Promise<ManifestV2> {
  return JSON.parse(await readFile(join(target, name), 'utf8')) as ManifestV2;
}

/** A latency summary is ordered and positive. */
function consistent(t: Test, s: LatencySummary | undefined, what: string): void {
  t.ok(s, `${what}: present`);
  if (!s) return;
  t.ok(s.count >= 1, `${what}: count ${s.count}`);
  t.ok(s.min >= 0, `${what}: min ${s.min} >= 0`);
  const order: (keyof LatencySummary)[] = ['min', 'p50', 'p90', 'p99', 'p999', 'max'];
  for (let i = 1; i < order.length; i++)
    t.ok(s[order[i - 1]!] <= s[order[i]!], `${what}: ${order[i - 1]} ${s[order[i - 1]!]} <= ${order[i]} ${s[order[i]!]}`);
  t.ok(s.mean >= s.min && s.mean <= s.max, `${what}: mean ${s.mean} within [min, max]`);
}

t.test('stream plane: commit latency of every committed object, realized ratios from the files written', async (t) => {
  const target = fresh();
  const seen: { elapsed: number[]; latencyCount?: number; objectsDone?: number } = { elapsed: [] };
  let last: PutProgress | undefined;
  const r = await putObjects({
    target,
    count: 6,
    size: '256KiB',
    dedupRatio: 3,
    compressRatio: 2,
    seed: 11,
    nativeWrites: false,
    onProgress: (p) => {
      seen.elapsed.push(p.elapsedMs);
      last = p;
    },
  });
  const stored = await storedManifest(target);
  t.equal(r.committed, 6);
  t.equal(stored.committed, r.committed, 'the stored manifest says as much');
  consistent(t, r.latency?.commit, 'commit');
  t.equal(r.latency!.commit.count, stored.committed, 'one commit latency per committed object (manifest)');
  t.notOk(r.latency!.firstByte, 'no first-byte latency for local files');
  t.notOk('latency' in stored, 'latency is not stored in the manifest');
  t.ok(
    seen.elapsed.every((e, i) => e >= 0 && (i === 0 || e >= seen.elapsed[i - 1]!)),
    'progress elapsedMs is non-decreasing',
  );
  t.equal(last!.latency!.commit.count, last!.objectsDone, 'progress latency counts the objects done so far');

  // Object scope: objects share no unit, so the data set's chunk hashes give n / K exactly (4 KiB units,
  // sizes a multiple of them).
  const files = await Promise.all((await linesOf(r)).map((l) => readFile(join(target, l.name))));
  t.equal(
    r.realizedDedupRatio,
    dedupRatio(files, 4096),
    `realizedDedupRatio ${r.realizedDedupRatio} = logical / distinct 4 KiB chunks of the files`,
  );
  t.notOk(r.realizedCompressionRatio, 'no compression ratio without compression');
});

t.test('native plane: per-object latency from the workers, the realized dedup ratio all the same', async (t) => {
  const target = fresh();
  const started = performance.now();
  const r = await putObjects({ target, count: 5, size: '128KiB', dedupRatio: 2, seed: 12 });
  const wall = performance.now() - started;
  const commit = r.latency?.commit;
  t.ok(commit, 'latency present on the native data plane');
  t.equal(commit?.count, 5, 'one latency per committed object');
  t.ok(
    commit!.min > 0 && commit!.min <= commit!.p50 && commit!.p50 <= commit!.max,
    `0 < min ${commit!.min} <= p50 <= max ${commit!.max} ms`,
  );
  t.ok(commit!.max <= wall, `each object took less than the whole run (${commit!.max} <= ${wall} ms)`);
  const files = await Promise.all((await linesOf(r)).map((l) => readFile(join(target, l.name))));
  t.equal(r.realizedDedupRatio, dedupRatio(files, 4096));
});

t.test('compressed run: realizedCompressionRatio = bytes / stored bytes on disk', async (t) => {
  const target = fresh();
  const r = await putObjects({ target, count: 4, size: '512KiB', compressRatio: 3, seed: 13, compression: 'zstd' });
  const stored = await storedManifest(target);
  let onDisk = 0;
  for (const l of await linesOf(r)) onDisk += (await stat(join(target, l.name))).size;
  t.equal(stored.compressedBytes, onDisk, 'compressedBytes is what the files take');
  t.equal(r.realizedCompressionRatio, stored.bytes / onDisk);
  t.ok(r.realizedCompressionRatio! > 1.5, `compressed about 3:1 (${r.realizedCompressionRatio})`);
  consistent(t, r.latency?.commit, 'commit');
  t.equal(r.latency!.commit.count, stored.committed);
});

t.test("dataset scope: the realized dedup ratio is the data set's, as chunk hashes over all objects give it", async (t) => {
  const target = fresh();
  const r = await putObjects({ target, count: 6, size: '256KiB', dedupRatio: 4, dedupScope: 'dataset', seed: 14 });
  const files = await Promise.all((await linesOf(r)).map((l) => readFile(join(target, l.name))));
  t.equal(r.realizedDedupRatio, dedupRatio(files, 4096));
});

t.test('duration: objects keep coming until the time is up; the manifest counts what was attempted', async (t) => {
  for (const nativeWrites of [true, false]) {
    const target = fresh();
    const totals: number[] = [];
    const r = await putObjects({
      target,
      duration: 0.5,
      size: '64KiB',
      seed: 15,
      nativeWrites,
      onProgress: (p) => totals.push(p.objectsTotal, p.bytesTotal),
    });
    const stored = await storedManifest(target);
    const lines = await linesOf(r);
    t.ok(stored.count >= 1, `${nativeWrites ? 'native' : 'stream'}: ${stored.count} objects`);
    t.equal(stored.count, lines.length, 'count = records');
    t.equal(stored.committed + stored.failed, stored.count, 'committed + failed = count');
    t.notOk(stored.interrupted, 'not interrupted');
    t.same(
      lines.map((l) => l.objectId),
      Array.from({ length: stored.count }, (_, i) => String(i)),
      'ids 0 to count - 1',
    );
    t.equal(lines[0]!.name, 'obj-000000.bin', 'names padded to 6 digits');
    const names = (await readdir(target)).filter((f) => f.startsWith('obj-'));
    t.equal(names.length, stored.count, 'as many files as records');
    t.ok(
      totals.every((x) => x === 0),
      'objectsTotal and bytesTotal are 0 (unknown)',
    );
    const report = await verifyObjects({ manifest: join(target, 'dgen-manifest.json') });
    t.equal(report.ok, stored.count, 'every object verifies by regeneration');
  }

  // A count is the most objects taken.
  const capped = await putObjects({ target: fresh(), duration: 600, count: 3, size: '4KiB', seed: 16 });
  t.equal(capped.count, 3);
  t.equal(capped.committed, 3);
});

t.test('duration: an abort marks the manifest interrupted; a resume without duration completes it', async (t) => {
  const target = fresh();
  const ac = new AbortController();
  let done = 0;
  const stopped = await putObjects({
    target,
    duration: 600,
    size: '64KiB',
    seed: 25,
    nativeWrites: false,
    concurrency: 2,
    signal: ac.signal,
    onProgress: (p) => {
      if (p.objectsDone !== done && (done = p.objectsDone) >= 5) ac.abort();
    },
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.match(stopped, { name: 'AbortError' }, 'the put rejects with the abort');
  const stored = await storedManifest(target);
  t.equal(stored.interrupted, true, 'interrupted');
  t.ok(
    stored.committed >= 5 && stored.committed + stored.failed <= stored.count,
    `count ${stored.count} covers the ${stored.committed} objects committed`,
  );
  await t.rejects(
    putObjects({ target, resume: true, duration: 1 }),
    { code: 'ERR_DGEN_INVALID_OPTION', message: /duration/ },
    'not resumed with a duration',
  );
  const resumed = await putObjects({ target, resume: true, nativeWrites: false });
  t.equal(resumed.count, stored.count);
  t.equal(resumed.committed, stored.count, 'every object of the count committed');
  t.equal(resumed.resumed, stored.committed, 'the committed ones kept');
  t.notOk(resumed.interrupted);
  t.equal(resumed.latency?.commit.count ?? 0, resumed.committed - resumed.resumed, 'latency counts the objects this run wrote');
  const report = await verifyObjects({ manifest: join(target, 'dgen-manifest.json') });
  t.equal(report.ok, stored.count);
});

t.test('LatencyRecorder: exact count, min, max, mean; percentiles within 0.1% of the sorted values', async (t) => {
  const recorder = new LatencyRecorder();
  t.equal(recorder.summary(), undefined, 'nothing recorded: no summary');
  const values = Array.from({ length: 2000 }, (_, i) => ((i * 7919) % 2000) / 4 + 0.25); // 0.25 to 500 ms, shuffled
  for (const v of values) recorder.record(v);
  recorder.record(-1);
  recorder.record(NaN);
  const s = recorder.summary()!;
  const sorted = [...values].sort((a, b) => a - b);
  const exact = (q: number) => sorted[Math.ceil((q / 100) * sorted.length) - 1]!;
  t.equal(s.count, 2000, 'negative and NaN values ignored');
  t.equal(s.min, 0.25);
  t.equal(s.max, 500);
  t.ok(Math.abs(s.mean - values.reduce((a, b) => a + b, 0) / values.length) < 1e-9, 'mean exact');
  for (const [key, q] of [
    ['p50', 50],
    ['p90', 90],
    ['p99', 99],
    ['p999', 99.9],
  ] as const) {
    t.ok(Math.abs(s[key] - exact(q)) <= exact(q) * 0.001 + 0.001, `${key} ${s[key]} ~ ${exact(q)}`);
  }
  consistent(t, s, 'summary');
  recorder.record(10_000_000); // about 3 hours: past the histogram's first range, which grows
  t.equal(recorder.summary()!.max, 10_000_000);
  t.ok(recorder.summary()!.p999 <= 10_000_000);
});

t.test('duration with shards: every shard records the given count; the shards merge and verify', async (t) => {
  const target = fresh();
  for (const index of [0, 1])
    await putObjects({
      target,
      duration: 0.3,
      count: 1_000_000,
      shard: `${index}/2`,
      size: '4KiB',
      seed: 17,
      nativeWrites: index === 0,
    });
  const at = (i: number) => join(target, manifestName({ index: i, count: 2 }));
  const shards = [
    await storedManifest(target, manifestName({ index: 0, count: 2 })),
    await storedManifest(target, manifestName({ index: 1, count: 2 })),
  ];
  t.same(
    shards.map((s) => s.count),
    [1_000_000, 1_000_000],
    'the data set count, in both shards',
  );
  t.ok(shards.every((s) => s.committed >= 1 && !s.interrupted));
  const merged = await mergeShardManifests([at(0), at(1)], join(target, 'dgen-manifest.json'));
  t.equal(merged.manifest.committed, shards[0]!.committed + shards[1]!.committed);
  const report = await verifyObjects({ manifest: join(target, 'dgen-manifest.json') });
  t.equal(report.ok, merged.manifest.committed);
});

t.test('duration in dataset scope with a count: objects regenerate from the manifest', async (t) => {
  const target = fresh();
  const r = await putObjects({
    target,
    duration: 0.3,
    count: 100_000,
    size: 'uniform:4KiB,16KiB',
    dedupRatio: 2,
    dedupScope: 'dataset',
    seed: 18,
  });
  t.equal(r.count, r.committed + r.failed);
  const report = await verifyObjects({ manifest: join(target, 'dgen-manifest.json') });
  t.equal(report.ok, r.committed);
});

t.test('rate: bytes / elapsed never exceeds the rate (stream plane of a local target)', async (t) => {
  const rate = 2 * MiB;
  const start = performance.now();
  const r = await putObjects({ target: fresh(), count: 12, size: '512KiB', seed: 19, rate, concurrency: 3 });
  const seconds = (performance.now() - start) / 1000;
  t.equal(r.bytes, 6 * MiB);
  t.ok(
    seconds >= (r.bytes / rate) * 0.95,
    `${r.bytes} bytes in ${seconds.toFixed(2)} s: at most ${rate} B/s (${(r.bytes / seconds / MiB).toFixed(2)} MiB/s)`,
  );
  t.ok(r.latency, 'the stream plane was taken (per-object latency present)');

  // With a duration: the bytes of the run follow the rate, whatever the time.
  const start2 = performance.now();
  const d = await putObjects({ target: fresh(), duration: 1.5, size: '64KiB', seed: 20, rate: '1MiB/s' });
  const seconds2 = (performance.now() - start2) / 1000;
  t.ok(seconds2 >= (d.bytes / MiB) * 0.95, `${d.bytes} bytes in ${seconds2.toFixed(2)} s at 1 MiB/s`);
  t.equal(d.count, d.committed);
});

t.test('S3 (s3rver): first-byte latency for multipart objects only; rate on the generated-parts plane', async (t) => {
  const server = await startS3rver(['reports']);
  t.teardown(() => server.stop());
  const conn = { endpoint: server.endpoint, credentials };
  // 5 MiB parts: objects of 5 MiB + 1 byte take two parts (a first-byte latency each), those of 1 MiB one
  // PutObject (acknowledged only as they commit: no first-byte latency).
  const r = await putObjects({ target: 's3://reports/multi', count: 2, size: 5 * MiB + 1, partSize: 5 * MiB, seed: 21, ...conn });
  consistent(t, r.latency?.commit, 'commit');
  consistent(t, r.latency?.firstByte, 'firstByte');
  t.equal(r.latency!.commit.count, r.committed);
  t.equal(r.latency!.firstByte!.count, 2, 'one first-byte latency per multipart object');
  t.ok(r.latency!.firstByte!.min <= r.latency!.commit.max, 'a first part is acknowledged before its object commits');
  const single = await putObjects({
    target: 's3://reports/single',
    count: 2,
    size: '1MiB',
    partSize: 5 * MiB,
    seed: 21,
    ...conn,
  });
  t.equal(single.latency!.commit.count, 2);
  t.notOk(single.latency!.firstByte, 'no first-byte latency for single-request objects');

  const rate = 2 * MiB;
  const start = performance.now();
  const paced = await putObjects({ target: 's3://reports/rate', count: 6, size: '1MiB', seed: 22, rate, ...conn });
  const seconds = (performance.now() - start) / 1000;
  t.equal(paced.committed, 6);
  t.ok(seconds >= (paced.bytes / rate) * 0.95, `${paced.bytes} bytes in ${seconds.toFixed(2)} s at most ${rate} B/s`);
});

t.test('Azure (Azurite): first-byte latency of blobs staged in blocks', async (t) => {
  const server = await startAzurite();
  t.teardown(() => server.stop());
  await BlobServiceClient.fromConnectionString(server.connectionString).getContainerClient('reports').create();
  const r = await putObjects({
    target: 'az://reports/lat',
    count: 3,
    size: '3MiB',
    blockSize: MiB,
    seed: 23,
    connectionString: server.connectionString,
  });
  consistent(t, r.latency?.commit, 'commit');
  consistent(t, r.latency?.firstByte, 'firstByte');
  t.equal(r.latency!.commit.count, 3);
  t.equal(r.latency!.firstByte!.count, 3, 'every blob took 3 blocks');
});

// Until lib/params.ts validates ratioCodec (issue 18), parseDataOptions drops it and there is nothing to record.
const ratioCodecParsed = parseDataOptions({ ratioCodec: 'zstd-1' }).ratioCodec !== undefined;
t.test(
  'ratioCodec is recorded in the manifest and compared on resume',
  { skip: ratioCodecParsed ? false : 'parseDataOptions does not carry ratioCodec yet (lib/params.ts)' },
  async (t) => {
    const target = fresh();
    await putObjects({ target, count: 2, size: '64KiB', compressRatio: 2, ratioCodec: 'zstd-1', seed: 24 });
    t.equal((await storedManifest(target)).ratioCodec, 'zstd-1');
    const resumed = await putObjects({ target, resume: true, nativeWrites: false });
    t.equal(resumed.ratioCodec, 'zstd-1', 'taken from the run resumed');
    await t.rejects(putObjects({ target, resume: true, ratioCodec: 'lz4' }), {
      code: 'ERR_DGEN_INVALID_OPTION',
      message: /ratioCodec/,
    });
  },
);

t.test('option errors name the parameter and the value, before anything is created', async (t) => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ duration: 0 }, 'duration', /duration.*0/],
    [{ duration: -1 }, 'duration', /duration/],
    [{ duration: 'soon' }, 'duration', /duration.*soon/],
    [{ duration: Infinity }, 'duration', /duration/],
    [{ duration: 1, resume: true }, 'duration', /resume/],
    [{ duration: 1, shard: '0/2' }, 'count', /count.*shard/],
    [{ duration: 1, dedupScope: 'dataset' }, 'count', /count.*dataset/],
    [{ rate: 0 }, 'rate', /rate/],
    [{ rate: -5 }, 'rate', /rate/],
    [{ rate: 'fast' }, 'rate', /rate.*fast/],
  ];
  for (const [extra, name, message] of cases) {
    const target = fresh();
    const err = await putObjects({ target, size: '4KiB', ...extra }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    t.equal(err?.code, 'ERR_DGEN_INVALID_OPTION', `${JSON.stringify(extra)}: ERR_DGEN_INVALID_OPTION`);
    t.match(err?.message, message, `${JSON.stringify(extra)}: names ${name}`);
    t.notOk(existsSync(target), 'nothing created');
  }
});
