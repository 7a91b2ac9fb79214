// Malformed manifests (version 1 and 2) and records files: every bad field is one ERR_DGEN_INVALID_MANIFEST
// naming the field, the object index or records line, and the file; never a TypeError, never an error
// blamed on a flag verify does not have, never a verify that runs with a made-up seed.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MANIFEST_NAME, putObjects, verifyObjects, loadManifest, readManifestRecords, type ManifestV1 } from '../../lib/index.js';

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const dgen = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
/** Flags of put and cat that verify does not have: an error about the manifest must not name them. */
const FOREIGN_FLAGS = /--(size|dedup|compress|dedup-unit|seed|count|object|chunk-size|attempts|shard|name-template)\b/;

type Json = Record<string, unknown>;

const root = await mkdtemp(join(tmpdir(), 'dgen-malformed-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
const target = join(root, 'run');
await putObjects({ target, count: 4, size: 8192, dedupRatio: 2, compressRatio: 2, seed: 77 });
const manifestPath = join(target, MANIFEST_NAME);
const recordsPath = join(target, 'dgen-manifest.records.ndjson');
const goodManifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Json;
const goodLines = (await readFile(recordsPath, 'utf8')).trimEnd().split('\n');
const recordsUri = pathToFileURL(recordsPath).href;

/** Writes a manifest document under another name (with the good records beside it) and returns its path. */
let n = 0;
async function manifestFile(doc: unknown): Promise<string> {
  const path = join(target, `bad-${++n}.json`);
  await writeFile(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  await writeFile(join(target, `bad-${n}.records.ndjson`), goodLines.join('\n') + '\n');
  return path;
}

function expectError(t: Test, err: unknown, field: string, location: string, extra: { line?: number; index?: number } = {}) {
  const e = err as Error & { code?: string; field?: string; location?: string; line?: number; index?: number };
  t.type(e, RangeError, 'a RangeError, not a TypeError');
  t.equal(e.code, 'ERR_DGEN_INVALID_MANIFEST');
  t.equal(e.field, field, `field ${field}`);
  t.equal(e.location, location);
  if (field !== '') t.ok(e.message.includes(`: ${field} must be`), `the message names ${field}: ${e.message}`);
  t.ok(e.message.includes(location), 'the message names the file');
  if (extra.line !== undefined) {
    t.equal(e.line, extra.line);
    t.ok(e.message.includes(` line ${extra.line}:`), 'the message names the line');
  }
  if (extra.index !== undefined) t.equal(e.index, extra.index);
}

async function verifyError(manifest: string): Promise<unknown> {
  try {
    await verifyObjects({ target, manifest, extras: false });
  } catch (err) {
    return err;
  }
  return undefined;
}

const without = (key: string) => (m: Json) => {
  const { [key]: _drop, ...rest } = m;
  return rest;
};
const set = (key: string, value: unknown) => (m: Json) => ({ ...m, [key]: value });

// [what, change to the good version 2 document, field named]
const v2Cases: [string, (m: Json) => unknown, string][] = [
  ['missing seed', without('seed'), 'seed'],
  ['seed as a number', set('seed', 77), 'seed'],
  ['seed of 2^64', set('seed', '18446744073709551616'), 'seed'],
  ['negative seed', set('seed', '-1'), 'seed'],
  ['seed with a leading zero', set('seed', '077'), 'seed'],
  ['another format', set('format', 'other'), 'format'],
  ['version 3', set('version', 3), 'version'],
  ['missing version', without('version'), 'version'],
  ['count 0', set('count', 0), 'count'],
  ['a huge count', set('count', 1e300), 'count'],
  ['count as a string', set('count', '4'), 'count'],
  ['negative count', set('count', -4), 'count'],
  ['dedup ratio below 1', set('dedupRatio', 0.5), 'dedupRatio'],
  ['dedup ratio as a string', set('dedupRatio', 'two'), 'dedupRatio'],
  ['dedup ratio null', set('dedupRatio', null), 'dedupRatio'],
  ['missing compress ratio', without('compressRatio'), 'compressRatio'],
  ['compress ratio over 64', set('compressRatio', 65), 'compressRatio'],
  ['dedup unit not a multiple of 512', set('dedupUnit', 1000), 'dedupUnit'],
  ['dedup unit 0', set('dedupUnit', 0), 'dedupUnit'],
  ['dedup unit of 2 GiB', set('dedupUnit', 2 ** 31), 'dedupUnit'],
  ['unknown dedup scope', set('dedupScope', 'bucket'), 'dedupScope'],
  ['dataset scope without datasetUnits', set('dedupScope', 'dataset'), 'datasetUnits'],
  ['compression null', set('compression', null), 'compression'],
  ['unknown compression', set('compression', { algorithm: 'lz5', level: 1 }), 'compression.algorithm'],
  ['shard index past its count', set('shard', { index: 3, count: 2 }), 'shard.index'],
  ['shard without count', set('shard', { index: 0 }), 'shard.count'],
  ['records climbing out', set('records', '../x.ndjson'), 'records'],
  ['records absolute', set('records', '/etc/passwd'), 'records'],
  ['records empty', set('records', ''), 'records'],
  ['records in a directory', set('records', 'a/b.ndjson'), 'records'],
  ['records ..', set('records', '..'), 'records'],
  ['negative committed', set('committed', -1), 'committed'],
  ['fractional failed', set('failed', 1.5), 'failed'],
  ['more records than objects', set('committed', 5), 'committed'],
  ['bytes as a string', set('bytes', '32768'), 'bytes'],
  ['target as a number', set('target', 5), 'target'],
  ['interrupted false', set('interrupted', false), 'interrupted'],
  ['the document null', () => null, ''],
  ['the document an array', () => [], ''],
  ['the document a number', () => 42, ''],
];

t.test('version 2 manifest: each malformed field is named', async (t) => {
  for (const [what, change, field] of v2Cases) {
    const path = await manifestFile(change(goodManifest));
    const err = await verifyError(path);
    t.ok(err, `${what}: refused`);
    await t.test(what, async (t) => expectError(t, err, field, path));
  }
  const notJson = await manifestFile('{"format": "dgen-manifest", ');
  expectError(t, await verifyError(notJson), '', notJson);
  t.match(((await verifyError(notJson)) as Error).message, /a JSON dgen manifest/);
});

t.test('missing seed through the CLI: a usage error naming seed, not a verify against a random seed', async (t) => {
  const path = await manifestFile(without('seed')(goodManifest));
  const r = dgen(['verify', target, '--manifest', path]);
  t.equal(r.status, 2, r.stderr);
  t.match(r.stderr, /seed must be present.*\[ERR_DGEN_INVALID_MANIFEST\]/);
  t.notMatch(r.stderr, FOREIGN_FLAGS, 'no flag of put blamed');
  t.equal(r.stdout, '', 'no object reported (nothing was checked)');
});

t.test('fields that reached the generator before are manifest errors through the CLI, not --size/--dedup errors', async (t) => {
  for (const [what, change, field] of v2Cases.filter(([, , f]) =>
    ['dedupRatio', 'compressRatio', 'dedupUnit', 'count', 'datasetUnits'].includes(f),
  )) {
    const path = await manifestFile(change(goodManifest));
    const r = dgen(['verify', target, '--manifest', path]);
    t.equal(r.status, 2, `${what}: exit 2`);
    t.match(r.stderr, new RegExp(`${field} must be .*\\[ERR_DGEN_INVALID_MANIFEST\\]`), what);
    t.notMatch(r.stderr, FOREIGN_FLAGS, `${what}: no flag of put blamed`);
    t.notMatch(r.stderr, /TypeError/, what);
  }
});

// [what, the line's new text or a change to its JSON, field named]
const recordCases: [string, string | ((r: Json) => unknown), string][] = [
  ['the line null', 'null', ''],
  ['the line an array', '[]', ''],
  ['the line a number', '7', ''],
  ['an empty line', '', ''],
  ['numeric name', set('name', 5), 'name'],
  ['name null', set('name', null), 'name'],
  ['missing name', without('name'), 'name'],
  ['empty name', set('name', ''), 'name'],
  ['name of 2,000 characters', set('name', 'x'.repeat(2000)), 'name'],
  ['negative size', set('size', -1), 'size'],
  ['fractional size', set('size', 1.5), 'size'],
  ['size past 2^53', set('size', 2 ** 60), 'size'],
  ['size as a string', set('size', '8192'), 'size'],
  ['bad crc32c', set('crc32c', 'xyz'), 'crc32c'],
  ['missing crc32c', without('crc32c'), 'crc32c'],
  ['objectId as a number', set('objectId', 1), 'objectId'],
  ['objectId past count', set('objectId', '4'), 'objectId'],
  ['objectId with a leading zero', set('objectId', '01'), 'objectId'],
  ['objectId huge', set('objectId', '99999999999999999999'), 'objectId'],
  ['negative unitOffset', set('unitOffset', -1), 'unitOffset'],
  ['unitOffset in object scope', set('unitOffset', 3), 'unitOffset'],
  ['compressedSize as a string', set('compressedSize', '10'), 'compressedSize'],
  ['etag as a number', set('etag', 5), 'etag'],
  ['backendChecksum null', set('backendChecksum', null), 'backendChecksum'],
  ['backendChecksum without value', set('backendChecksum', { algorithm: 'CRC32C' }), 'backendChecksum.value'],
  [
    'failure with 0 attempts',
    (r) => ({ objectId: r.objectId, name: r.name, failure: { attempts: 0, error: 'x' } }),
    'failure.attempts',
  ],
  ['failure without error', (r) => ({ objectId: r.objectId, name: r.name, failure: { attempts: 1 } }), 'failure.error'],
  ['failure a number', (r) => ({ objectId: r.objectId, name: r.name, failure: 5 }), 'failure'],
];

t.test('records file: each malformed field is named with its line', async (t) => {
  for (const [what, change, field] of recordCases) {
    const line = 3;
    const lines = [...goodLines];
    lines[line - 1] = typeof change === 'string' ? change : JSON.stringify(change(JSON.parse(lines[line - 1]!) as Json));
    await writeFile(recordsPath, lines.join('\n') + '\n');
    const err = await verifyError(manifestPath).catch((e) => e);
    t.ok(err, `${what}: refused`);
    await t.test(what, async (t) => expectError(t, err, field, recordsUri, { line }));
  }
  await writeFile(recordsPath, goodLines.join('\n') + '\n');
  t.equal((await verifyObjects({ target, extras: false })).ok, 4, 'the intact records verify');
});

t.test('records errors through the CLI: exit 2, the line and field named', async (t) => {
  const lines = [...goodLines];
  lines[1] = JSON.stringify({ ...(JSON.parse(lines[1]!) as Json), name: 12 });
  await writeFile(recordsPath, lines.join('\n') + '\n');
  t.teardown(() => writeFile(recordsPath, goodLines.join('\n') + '\n'));
  const r = dgen(['verify', target]);
  t.equal(r.status, 2);
  t.match(r.stderr, /dgen-manifest\.records\.ndjson line 2: name must be .*got 12 \[ERR_DGEN_INVALID_MANIFEST\]/);
  t.notMatch(r.stderr, /TypeError/);
  t.notMatch(r.stderr, FOREIGN_FLAGS);
});

t.test('version 1 manifest: objects[i] and failures[i] are named with their index', async (t) => {
  const records = lines(goodLines);
  const base = { ...without('records')(goodManifest) } as Json;
  for (const k of ['committed', 'failed', 'bytes']) delete base[k];
  const v1 = {
    ...base,
    version: 1,
    objects: records.map((r) => ({ ...r, uri: pathToFileURL(join(target, r.name as string)).href })),
    failures: [] as Json[],
  } as unknown as ManifestV1 & Json;
  const good = await manifestFile(v1);
  t.equal((await verifyObjects({ target, manifest: good, extras: false })).ok, 4, 'a version 1 manifest verifies');
  const objects = (change: (o: Json) => unknown, i = 1) => ({
    ...v1,
    objects: v1.objects.map((o, j) => (j === i ? change(o as unknown as Json) : o)),
  });
  const cases: [string, unknown, string, number | undefined][] = [
    ['objects[1] = null', objects(() => null), 'objects[1]', 1],
    ['objects[1] a string', objects(() => 'obj'), 'objects[1]', 1],
    ['numeric name', objects(set('name', 5)), 'objects[1].name', 1],
    ['negative size', objects(set('size', -5), 2), 'objects[2].size', 2],
    ['objectId past count', objects(set('objectId', '9'), 0), 'objects[0].objectId', 0],
    ['traversal name', objects(set('name', '../../../../etc/hostname'), 3), 'objects[3].name', 3],
    ['objects missing', without('objects')(v1), 'objects', undefined],
    ['objects a string', { ...v1, objects: 'all' }, 'objects', undefined],
    [
      'failures[0] without attempts',
      { ...v1, objects: v1.objects.slice(0, 3), failures: [{ name: 'obj-000003.bin', uri: 'x', objectId: '3', error: 'e' }] },
      'failures[0].attempts',
      0,
    ],
    [
      'failures[0] past count',
      {
        ...v1,
        objects: v1.objects.slice(0, 3),
        failures: [{ name: 'obj-000003.bin', uri: 'x', objectId: '8', attempts: 1, error: 'e' }],
      },
      'failures[0].objectId',
      0,
    ],
    ['more objects than count', { ...v1, count: 2 }, 'objects', undefined],
  ];
  for (const [what, doc, field, index] of cases) {
    const path = await manifestFile(doc);
    const err = await verifyError(path);
    t.ok(err, `${what}: refused`);
    await t.test(what, async (t) => expectError(t, err, field, path, index === undefined ? {} : { index }));
  }
  const path = await manifestFile(objects(() => null));
  const r = dgen(['verify', target, '--manifest', path]);
  t.equal(r.status, 2, 'objects[1] = null through the CLI: exit 2');
  t.match(r.stderr, /objects\[1\] must be a JSON object.*got null \[ERR_DGEN_INVALID_MANIFEST\]/);
  t.notMatch(r.stderr, /TypeError/);
});

t.test('loadManifest and readManifestRecords (used by merge and put --resume) refuse the same', async (t) => {
  const path = await manifestFile(set('dedupUnit', 100)(goodManifest));
  await t.rejects(loadManifest(path), { code: 'ERR_DGEN_INVALID_MANIFEST', field: 'dedupUnit' });
  const lines = [...goodLines];
  lines[0] = JSON.stringify({ ...(JSON.parse(lines[0]!) as Json), size: -1 });
  await writeFile(recordsPath, lines.join('\n') + '\n');
  t.teardown(() => writeFile(recordsPath, goodLines.join('\n') + '\n'));
  const manifest = await loadManifest(manifestPath);
  const read = async () => {
    for await (const _ of readManifestRecords(manifest, manifestPath));
  };
  await t.rejects(read(), { code: 'ERR_DGEN_INVALID_MANIFEST', field: 'size', line: 1 });
});

function lines(texts: string[]): Json[] {
  return texts.map((l) => JSON.parse(l) as Json);
}
