// Bulk puts at scale: size distributions, dataset dedup scope, retries, observability, bounded memory,
// verify, and shards that add up to the unsharded run.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import diagnostics_channel from 'node:diagnostics_channel';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  checkShardSet,
  createS3Client,
  generatorFor,
  isFailureRecord,
  MANIFEST_NAME,
  mergeShardManifests,
  objectName,
  parseSizeDistribution,
  putObjects,
  readManifest,
  readManifestRecords,
  verifyObjects,
  type InputOptions,
  type Manifest,
  type ManifestLine,
  type ManifestRecord,
  type PutResult,
} from '../lib/index.js';
import { dedupRatio, near } from './fixtures/helpers.js';
import { startRecordingProxy, startS3rver } from './fixtures/servers.js';

const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));
const root = await mkdtemp(join(tmpdir(), 'dgen-bulk-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `run-${n++}`);
const KiB = 1024;
const MiB = 1024 * KiB;

/** Every record of a manifest (a putObjects result finds its records by its manifestUri), by objectId. */
async function linesOf(manifest: Manifest | PutResult, location?: string, options: InputOptions = {}): Promise<ManifestLine[]> {
  const lines: ManifestLine[] = [];
  for await (const line of readManifestRecords(manifest, location ?? (manifest as PutResult).manifestUri, options))
    lines.push(line);
  return lines.sort((a, b) => Number(a.objectId) - Number(b.objectId));
}
/** The committed objects' records of a manifest, by objectId. */
async function objectsOf(
  manifest: Manifest | PutResult,
  location?: string,
  options: InputOptions = {},
): Promise<ManifestRecord[]> {
  return (await linesOf(manifest, location, options)).filter((l): l is ManifestRecord => !isFailureRecord(l));
}

function dgen(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('size distributions: deterministic from the seed, with the asked-for shape', async (t) => {
  const seed = 99n;
  const draw = (spec: string, count = 4000) =>
    Array.from({ length: count }, (_, i) => parseSizeDistribution(spec).sizeOf(seed, i));
  t.same(draw('uniform:4KiB,1MiB', 50), draw('uniform:4KiB,1MiB', 50), 'same seed, same sizes');
  t.notSame(
    draw('uniform:4KiB,1MiB', 50),
    Array.from({ length: 50 }, (_, i) => parseSizeDistribution('uniform:4KiB,1MiB').sizeOf(100n, i)),
    'another seed, other sizes',
  );
  const u = draw('uniform:1000,3000');
  t.ok(
    u.every((s) => s >= 1000 && s <= 3000 && Number.isInteger(s)),
    'uniform within bounds',
  );
  t.ok(near(u.reduce((a, b) => a + b) / u.length, 2000, 0.02), 'uniform mean');
  const w = draw('4KiB:50%,1MiB:40%,64MiB:10%');
  const share = (s: number) => w.filter((x) => x === s).length / w.length;
  t.ok(
    Math.abs(share(4096) - 0.5) < 0.03 && Math.abs(share(MiB) - 0.4) < 0.03 && Math.abs(share(64 * MiB) - 0.1) < 0.02,
    `weighted shares ${share(4096)}, ${share(MiB)}, ${share(64 * MiB)}`,
  );
  const l = draw('lognormal:1MiB,512KiB');
  const mean = l.reduce((a, b) => a + b) / l.length;
  const sd = Math.sqrt(l.reduce((a, b) => a + (b - mean) ** 2, 0) / l.length);
  t.ok(near(mean, MiB, 0.05), `lognormal mean ${mean.toFixed(0)}`);
  t.ok(near(sd, 512 * KiB, 0.15), `lognormal sd ${sd.toFixed(0)}`);
  const clamped = draw('lognormal:1MiB,4MiB,64KiB,2MiB');
  t.ok(
    clamped.every((s) => s >= 64 * KiB && s <= 2 * MiB),
    'lognormal clamped to its bounds',
  );
  t.equal(parseSizeDistribution('64MiB').sizeOf(seed, 7), 64 * MiB);
  for (const bad of ['uniform:5,1', 'uniform:1', 'lognormal:0,5', 'gauss:1,2', '4KiB:x%', '4KiB:0%']) {
    t.throws(() => parseSizeDistribution(bad), { code: 'ERR_DGEN_INVALID_SIZE' }, `rejects ${bad}`);
  }
});

t.test('dedup scope dataset: the whole data set dedups by d; objects regenerate from the manifest', async (t) => {
  const target = fresh();
  const manifest = await putObjects({
    target,
    count: 12,
    size: 'uniform:1MiB,3MiB',
    dedupRatio: 4,
    dedupScope: 'dataset',
    compressRatio: 2,
    seed: 5,
  });
  const objects = await objectsOf(manifest);
  t.equal(objects.length, 12);
  const files = await Promise.all(objects.map((o) => readFile(join(target, o.name))));
  const realized = manifest.datasetUnits! / Math.max(1, Math.round(manifest.datasetUnits! / 4));
  const measured = dedupRatio(files, 4096);
  t.ok(near(measured, realized, 0.02), `data set dedups ${measured.toFixed(3)} (realized ${realized.toFixed(3)})`);
  t.ok(
    files.some((f) => dedupRatio(f, 4096) < 3.5),
    'single objects dedup less than the data set',
  );
  t.equal(new Set(objects.map((o) => o.size)).size > 1, true, 'sizes vary');
  t.equal(manifest.dedupScope, 'dataset');
  t.equal(
    manifest.bytes,
    files.reduce((a, f) => a + f.length, 0),
    'bytes sums the objects',
  );
  for (const [i, o] of objects.entries())
    t.ok(files[i]!.equals(generatorFor(manifest, o).generateSync()), `${o.name} regenerates`);
  const objectScope = await putObjects({ target: fresh(), count: 4, size: '2MiB', dedupRatio: 4, seed: 5 });
  t.equal(objectScope.dedupScope, 'object');
});

t.test('retries: transient failures are retried (regenerating), permanent ones reported, --fail-fast stops', async (t) => {
  const server = await startS3rver(['bulk']);
  t.teardown(() => server.stop());
  const proxy = await startRecordingProxy(server.port);
  t.teardown(() => proxy.close());
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const events: string[] = [];
  const onRetry = (m: unknown) => events.push(`retry ${(m as { name: string }).name}`);
  const onFailure = (m: unknown) => events.push(`failure ${(m as { name: string }).name}`);
  diagnostics_channel.subscribe('dgen:object:retry', onRetry);
  diagnostics_channel.subscribe('dgen:object:failure', onFailure);
  t.teardown(() => {
    diagnostics_channel.unsubscribe('dgen:object:retry', onRetry);
    diagnostics_channel.unsubscribe('dgen:object:failure', onFailure);
  });

  // Once the first object starts (after the preflight probe), the next two requests answer 503 SlowDown.
  let failOnStart = 2;
  const onStart = () => {
    if (failOnStart === 0) return;
    proxy.failNext = failOnStart;
    failOnStart = 0;
  };
  diagnostics_channel.subscribe('dgen:object:start', onStart);
  t.teardown(() => diagnostics_channel.unsubscribe('dgen:object:start', onStart));
  const manifest = await putObjects({
    target: 's3://bulk/retry',
    count: 3,
    size: '1MiB',
    concurrency: 1,
    seed: 1,
    endpoint: proxy.endpoint,
    credentials,
    maxAttempts: 1, // no SDK-level retries: the object-level retry must do it
    attempts: 3,
    retryBaseMs: 10,
  });
  t.equal(manifest.committed, 3, 'all objects written');
  t.equal(manifest.failed, 0);
  t.same(manifest.failures, []);
  t.same(events, ['retry obj-000000.bin', 'retry obj-000000.bin'], 'two retries of the first object');
  const report = await verifyObjects({ target: 's3://bulk/retry', endpoint: server.endpoint, credentials });
  t.equal(report.ok, 3, 'retried objects verify');

  events.length = 0;
  failOnStart = 1000; // permanent trouble for every attempt, once the objects start
  const failed = await putObjects({
    target: 's3://bulk/fail',
    count: 3,
    size: '64KiB',
    concurrency: 1,
    seed: 1,
    endpoint: proxy.endpoint,
    credentials,
    maxAttempts: 1,
    attempts: 2,
    retryBaseMs: 1,
  }).catch((e) => e);
  proxy.failNext = 0;
  t.ok(failed instanceof Error, 'the manifest itself cannot be stored either, so the run rejects');
  t.same(
    events.filter((e) => e.startsWith('failure')),
    ['failure obj-000000.bin', 'failure obj-000001.bin', 'failure obj-000002.bin'],
    'every object failed, the run went on',
  );

  // A bucket that does not exist: refused by the preflight probe before any object (exit 2, no manifest).
  const target = fresh();
  const cli = dgen(
    [
      'put',
      's3://no-such-bucket/x',
      '--count',
      '3',
      '--size',
      '4KiB',
      '--endpoint',
      server.endpoint,
      '--attempts',
      '3',
      '--manifest',
      join(target, 'm.json'),
      '--json',
    ],
    {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    },
  );
  t.equal(cli.status, 2, 'refused before the first object');
  t.match(JSON.parse(cli.stdout), {
    ok: false,
    error: { code: 'ERR_DGEN_TARGET_UNWRITABLE', message: /no-such-bucket does not exist/ },
  });
  await t.rejects(readFile(join(target, 'm.json')), { code: 'ENOENT' }, 'no manifest');

  // A permanent (non-transient) error of single objects: a directory where objects 0 and 2 go (the
  // rename into place fails with EISDIR). Reported per object, not retried, the run goes on.
  const dir = fresh();
  await mkdir(join(dir, 'obj-000000.bin'), { recursive: true });
  await mkdir(join(dir, 'obj-000002.bin'), { recursive: true });
  const local = dgen(['put', dir, '--count', '3', '--size', '4KiB', '--attempts', '3', '--json']);
  t.equal(local.status, 1, 'exit 1 when objects failed');
  const summary = JSON.parse(local.stdout);
  t.equal(summary.failures.length, 2);
  t.match(
    summary.failures[0],
    { name: 'obj-000000.bin', attempts: 1, code: 'EISDIR', syscall: 'rename' },
    'a permanent error is not retried',
  );
  const stored = await readManifest(join(dir, MANIFEST_NAME));
  t.equal(stored.version === 2 && stored.failed, 2, 'failures are counted in the manifest');
  const failedLines = (await linesOf(stored, join(dir, MANIFEST_NAME))).filter(isFailureRecord);
  t.same(
    failedLines.map((f) => [f.objectId, f.name, f.failure.attempts]),
    [
      ['0', 'obj-000000.bin', 1],
      ['2', 'obj-000002.bin', 1],
    ],
    'and recorded beside it',
  );
  t.match(failedLines[0]!.failure.error, /EISDIR/);
  // --fail-fast on the stream data plane (compressed), one object at a time: the first failure stops.
  const fastDir = fresh();
  for (let i = 0; i < 8; i++) await mkdir(join(fastDir, `obj-00000${i}.bin.gz`), { recursive: true });
  const fast = dgen([
    'put',
    fastDir,
    '--count',
    '8',
    '--size',
    '4KiB',
    '--concurrency',
    '1',
    '--compression',
    'gzip',
    '--fail-fast',
    '--json',
  ]);
  t.equal(fast.status, 1, fast.stderr);
  t.equal(JSON.parse(fast.stdout).failures.length, 1, '--fail-fast stops after the first failure');
});

t.test('observability: diagnostics_channel start/finish events and NODE_DEBUG=dgen', async (t) => {
  const seen: string[] = [];
  const start = (m: unknown) => seen.push(`start ${(m as { objectId: number }).objectId}`);
  const finish = (m: unknown) => seen.push(`finish ${(m as { objectId: number }).objectId}`);
  diagnostics_channel.subscribe('dgen:object:start', start);
  diagnostics_channel.subscribe('dgen:object:finish', finish);
  // The stream data plane runs one object after another at concurrency 1; the native one hands a whole
  // batch to the pool, so every start comes before the finishes.
  await putObjects({ target: fresh(), count: 3, size: '64KiB', concurrency: 1, seed: 2, nativeWrites: false });
  t.same(seen, ['start 0', 'finish 0', 'start 1', 'finish 1', 'start 2', 'finish 2'], 'stream data plane');
  seen.length = 0;
  await putObjects({ target: fresh(), count: 3, size: '64KiB', seed: 2 });
  diagnostics_channel.unsubscribe('dgen:object:start', start);
  diagnostics_channel.unsubscribe('dgen:object:finish', finish);
  t.same(seen.slice(0, 3), ['start 0', 'start 1', 'start 2'], 'native data plane: the batch starts');
  t.same(seen.slice(3).sort(), ['finish 0', 'finish 1', 'finish 2'], 'native data plane: each object finishes');
  const r = dgen(['put', fresh(), '--count', '2', '--size', '4KiB'], { NODE_DEBUG: 'dgen' });
  t.equal(r.status, 0);
  t.match(r.stderr, /DGEN \d+: start file:\/\/.*obj-000000\.bin/);
  t.match(r.stderr, /DGEN \d+: finish file:\/\/.*obj-000001\.bin/);
});

t.test('high concurrency warns about nothing', async (t) => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const manifest = await putObjects({ target: fresh(), count: 40, size: '64KiB', concurrency: 32, seed: 4 });
  t.equal(manifest.committed, 40);
  await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  t.same(
    warnings.map((w) => w.message),
    [],
    'no MaxListenersExceededWarning from the shared abort signal',
  );
});

t.test('memory stays bounded on a data set far larger than the bound', async (t) => {
  const chunk = MiB;
  const concurrency = 4;
  // Per object in flight: source highWaterMark (2 chunks) + one chunk being generated + the file sink's
  // 16 MiB buffer. arrayBuffers also counts chunks already written but not yet garbage-collected, so the
  // check allows twice the bound: what it rules out is memory that grows with the data set (2 GiB here).
  const bound = concurrency * (3 * chunk + 16 * MiB);
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const target = fresh();
  const manifest = await putObjects({
    target,
    count: 32,
    size: '64MiB',
    concurrency,
    chunkSize: chunk,
    seed: 3,
    onProgress: () => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
    },
  });
  t.equal(manifest.committed, 32);
  t.ok(
    peak < 2 * bound,
    `2 GiB written with at most ${(peak / MiB).toFixed(1)} MiB of buffers above baseline (bound ${bound / MiB} MiB live)`,
  );
  await rm(target, { recursive: true, force: true });
});

t.test('verify: a corrupted byte, a truncated object and a deleted one are each reported', async (t) => {
  const target = fresh();
  await putObjects({
    target,
    count: 5,
    size: 'uniform:100KiB,300KiB',
    compressRatio: 3,
    dedupRatio: 2,
    seed: 8,
    compression: 'zstd',
  });
  const ok = dgen(['verify', target, '--json']);
  t.equal(ok.status, 0, ok.stderr);
  t.equal(JSON.parse(ok.stdout).ok, 5);

  const plain = fresh();
  await putObjects({ target: plain, count: 5, size: '200KiB', seed: 8 });
  const file = (i: number) => join(plain, objectName(i, 5));
  const bytes = await readFile(file(1));
  bytes[12345] ^= 0x40;
  await writeFile(file(1), bytes);
  await truncate(file(2), 1000);
  await unlink(file(3));
  const r = dgen(['verify', plain, '--json']);
  t.equal(r.status, 1, 'exit 1');
  const report = JSON.parse(r.stdout);
  t.equal(report.ok, 2);
  t.same(
    report.mismatches.map((x: { name: string; offset: number }) => [x.name, x.offset]),
    [[objectName(1, 5), 12345]],
    'the corrupted byte, at its offset',
  );
  t.same(
    report.sizeMismatches.map((x: { name: string; actualSize: number; expectedSize: number }) => [
      x.name,
      x.actualSize,
      x.expectedSize,
    ]),
    [[objectName(2, 5), 1000, 204800]],
  );
  t.same(
    report.missing.map((x: { name: string }) => x.name),
    [objectName(3, 5)],
  );
  const text = dgen(['verify', plain]);
  t.match(text.stdout, /MISMATCH .*obj-000001\.bin: first differing byte at offset 12345/);
  t.match(text.stdout, /SIZE .*obj-000002\.bin: 1000 bytes, expected 204800/);
  t.match(text.stdout, /MISSING .*obj-000003\.bin/);
  t.equal(dgen(['verify', fresh()]).status, 1, 'no manifest: a failure');
});

t.test('verify on S3: an object overwritten with other bytes is found', async (t) => {
  const server = await startS3rver(['vfy']);
  t.teardown(() => server.stop());
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const m = await putObjects({
    target: 's3://vfy/run',
    count: 3,
    size: '300KiB',
    seed: 4,
    endpoint: server.endpoint,
    credentials,
  });
  t.equal(m.recordsUri, 's3://vfy/run/dgen-manifest.records.ndjson');
  const objects = await objectsOf(m, undefined, { endpoint: server.endpoint, credentials });
  t.same(
    objects.map((o) => o.name),
    ['obj-000000.bin', 'obj-000001.bin', 'obj-000002.bin'],
    'records read back from S3',
  );
  const client = createS3Client({ endpoint: server.endpoint, credentials });
  const wrong = generatorFor(m, objects[0]!).generateSync();
  await client.send(new PutObjectCommand({ Bucket: 'vfy', Key: `run/${objects[2]!.name}`, Body: wrong }));
  client.destroy();
  const report = await verifyObjects({ target: 's3://vfy/run', endpoint: server.endpoint, credentials });
  t.equal(report.ok, 2);
  t.equal(report.mismatches.length, 1);
  t.equal(report.mismatches[0]!.name, objects[2]!.name);
});

t.test('shards: the union of all shards is byte-identical to the unsharded run, no object twice', async (t) => {
  const args = [
    '--count',
    '10',
    '--size',
    'uniform:10KiB,200KiB',
    '--dedup',
    '3',
    '--dedup-scope',
    'dataset',
    '--compress',
    '2',
    '--seed',
    '77',
  ];
  const whole = fresh();
  t.equal(dgen(['put', whole, ...args]).status, 0);
  const sharded = fresh();
  const r0 = dgen(['put', sharded, ...args, '--shard', '0/3']);
  t.equal(r0.status, 0, r0.stderr);
  for (const index of [1, 2])
    t.equal(
      dgen(['put', sharded, ...args, '--shards', '3'], { JOB_COMPLETION_INDEX: String(index) }).status,
      0,
      `shard ${index} from JOB_COMPLETION_INDEX`,
    );
  const names = (await readdir(sharded)).filter((f) => f.startsWith('dgen-manifest.shard-') && f.endsWith('.json')).sort();
  t.same(names, [
    'dgen-manifest.shard-0000-of-0003.json',
    'dgen-manifest.shard-0001-of-0003.json',
    'dgen-manifest.shard-0002-of-0003.json',
  ]);
  t.same(
    (await readdir(sharded)).filter((f) => f.endsWith('.records.ndjson')).sort(),
    names.map((f) => f.replace(/\.json$/, '.records.ndjson')),
    'each shard streams its records beside its manifest',
  );
  const shards = await Promise.all(names.map((f) => readManifest(join(sharded, f))));
  const shardObjects = await Promise.all(shards.map((s, i) => objectsOf(s, join(sharded, names[i]!))));
  t.same(
    shardObjects.map((s) => s.map((o) => Number(o.objectId))),
    [
      [0, 3, 6, 9],
      [1, 4, 7],
      [2, 5, 8],
    ],
    'index mod 3',
  );
  const mergeRun = dgen(['merge', sharded]);
  t.equal(mergeRun.status, 0, mergeRun.stderr);
  const merged = await readManifest(join(sharded, 'dgen-manifest.json'));
  const reference = await readManifest(join(whole, 'dgen-manifest.json'));
  const referenceObjects = await objectsOf(reference, join(whole, 'dgen-manifest.json'));
  t.same(
    await objectsOf(merged, join(sharded, 'dgen-manifest.json')),
    referenceObjects,
    'merged manifest lists the same objects, sizes and checksums',
  );
  t.match(merged, {
    version: 2,
    committed: 10,
    failed: 0,
    bytes: reference.version === 2 && reference.bytes,
    records: 'dgen-manifest.records.ndjson',
  });
  t.notOk('shard' in merged, 'the merged manifest is not a shard');
  for (const o of referenceObjects)
    t.ok((await readFile(join(sharded, o.name))).equals(await readFile(join(whole, o.name))), `${o.name} identical`);
  t.same(
    (await readdir(whole)).filter((f) => f.endsWith('.bin')).sort(),
    (await readdir(sharded)).filter((f) => f.endsWith('.bin')).sort(),
  );
  t.throws(
    () => checkShardSet([shards[0]!, shards[0]!, shards[1]!]),
    { code: 'ERR_DGEN_INVALID_MANIFEST' },
    'a shard given twice',
  );
  t.throws(() => checkShardSet([shards[0]!, shards[1]!]), { code: 'ERR_DGEN_INVALID_MANIFEST' }, 'a shard missing');
  const at = (i: number) => join(sharded, names[i]!);
  await t.rejects(
    mergeShardManifests([at(0), at(0), at(1)], join(sharded, 'twice.json')),
    { code: 'ERR_DGEN_INVALID_MANIFEST' },
    'merge refuses a shard given twice',
  );
  await t.rejects(
    mergeShardManifests([at(0), at(1)], join(sharded, 'missing.json')),
    { code: 'ERR_DGEN_INVALID_MANIFEST' },
    'merge refuses a missing shard',
  );
  t.same(
    (await readdir(sharded)).filter((f) => /^(twice|missing)/.test(f)),
    [],
    'and stores nothing',
  );
  t.equal(dgen(['verify', sharded]).status, 0, 'the merged run verifies');
  t.equal(dgen(['put', sharded, '--shard', '3/3']).status, 2);
  t.equal(dgen(['put', sharded, '--shards', '3']).status, 2, '--shards without JOB_COMPLETION_INDEX');
});

t.test('name templates: stable, documented names; bad templates are refused before anything is written', async (t) => {
  const target = fresh();
  const m = await putObjects({
    target,
    count: 3,
    size: '4KiB',
    seed: 1,
    compression: 'gzip',
    nameTemplate: 'day1/part-{n}-{index}{ext}',
  });
  t.same(
    (await objectsOf(m)).map((o) => o.name),
    ['day1/part-0-000000.gz', 'day1/part-1-000001.gz', 'day1/part-2-000002.gz'],
  );
  t.same((await readdir(join(target, 'day1'))).sort(), ['part-0-000000.gz', 'part-1-000001.gz', 'part-2-000002.gz']);
  t.equal(m.nameTemplate, 'day1/part-{n}-{index}{ext}');
  t.equal(dgen(['verify', target]).status, 0, 'verify finds templated names');
  t.equal(objectName(7, 1_000_001), 'obj-0000007.bin', 'the index widens to the last index past a million objects');
  t.equal(objectName(1_000_000, 1_000_001, '.zst'), 'obj-1000000.bin.zst');
  for (const bad of ['same-name.bin', '/abs/{index}', '../up/{index}', 'obj-{index}-{color}']) {
    const dir = fresh();
    await t.rejects(
      putObjects({ target: dir, count: 2, nameTemplate: bad }),
      { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'nameTemplate' },
      `refuses ${bad}`,
    );
    t.notOk(await readdir(dir).catch(() => false), 'nothing created');
  }
});
