// dgen analyze on inputs that are not data: a device (/dev/zero, /dev/null), a FIFO, /dev/stdin (a pipe)
// are refused before anything is read (exit 2, ERR_DGEN_INVALID_INPUT; a FIFO must not hang); inside a
// directory, links, special files, dgen's own manifests and .dgen-partial files are skipped and named;
// over zero bytes no ratio is printed.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { analyze, listInputs } from '../../lib/index.js';

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const root = await mkdtemp(join(tmpdir(), 'dgen-analyze-special-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
const mkfifo = (path: string) => execFileSync('mkfifo', [path]);

/** Runs dgen with a bound on its time: a hang shows as a killed process (status null), not a stuck suite. */
function dgen(args: string[], input?: string) {
  return spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    ...(input !== undefined ? { input } : { stdio: ['ignore', 'pipe', 'pipe'] }),
  });
}

const RATIO = /\d+\.\d{3}/;

t.test('special files named on their own: exit 2 with ERR_DGEN_INVALID_INPUT, no report', async (t) => {
  const fifo = join(root, 'fifo');
  mkfifo(fifo);
  const file = join(root, 'data.bin');
  writeFileSync(file, randomBytes(50_000));
  const cases: [string, string[], RegExp, string?][] = [
    ['/dev/zero', ['/dev/zero'], /\/dev\/zero is a character device/],
    ['/dev/null', ['/dev/null'], /\/dev\/null is a character device/],
    ['a FIFO nobody writes to', [fifo], /fifo is a FIFO/],
    ['a regular file, then a FIFO: refused before the file is read', [file, fifo], /fifo is a FIFO/],
    [
      '/dev/stdin fed by a pipe (a socket pair under spawnSync)',
      ['/dev/stdin'],
      /\/dev\/stdin is a (FIFO|socket)/,
      'some bytes on a pipe\n',
    ],
  ];
  for (const [name, inputs, message, stdin] of cases) {
    for (const json of [[], ['--json']]) {
      const r = dgen(['analyze', ...inputs, '--no-per-chunk', ...json], stdin);
      t.equal(r.signal, null, `${name}${json.join('')}: did not hang`);
      t.equal(r.status, 2, `${name}${json.join('')}: exit 2`);
      t.match(r.stderr, message, `${name}: says what the input is`);
      t.match(r.stderr, /ERR_DGEN_INVALID_INPUT/);
      t.equal(r.stdout, '', `${name}: no report, no ratio`);
    }
  }
  await t.rejects(
    analyze(['/dev/zero']),
    { name: 'TypeError', code: 'ERR_DGEN_INVALID_INPUT', parameter: 'inputs', value: '/dev/zero' },
    'the library refuses it too',
  );
});

t.test('a directory: links, special files, manifests and partial files are skipped and named', async (t) => {
  const dir = join(root, 'tree');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  const outside = join(root, 'outside.bin');
  writeFileSync(outside, randomBytes(70_000));
  const data = [join(dir, 'a.bin'), join(dir, 'sub', 'b.bin')];
  writeFileSync(data[0]!, randomBytes(100_000));
  writeFileSync(data[1]!, Buffer.alloc(30_000, 9));
  symlinkSync(outside, join(dir, 'link-to-file'));
  symlinkSync(join(root), join(dir, 'sub', 'link-to-dir'));
  symlinkSync('/nonexistent/target', join(dir, 'dangling'));
  mkfifo(join(dir, 'sub', 'fifo'));
  writeFileSync(join(dir, 'dgen-manifest.json'), JSON.stringify({ version: 2, objects: [] }));
  writeFileSync(join(dir, 'dgen-manifest.records.ndjson'), '{"objectId":"0"}\n');
  writeFileSync(join(dir, 'dgen-manifest.shard-0-of-2.json'), '{}');
  writeFileSync(join(dir, '.obj-000000.bin.0123456789ab.dgen-partial'), randomBytes(4096));
  const expected = [
    ['.obj-000000.bin.0123456789ab.dgen-partial', /temporary file of an unfinished dgen put/],
    ['dangling', /symbolic link/],
    ['dgen-manifest.json', /dgen manifest/],
    ['dgen-manifest.records.ndjson', /records of a dgen manifest/],
    ['dgen-manifest.shard-0-of-2.json', /dgen manifest/],
    ['link-to-file', /symbolic link/],
    ['sub/fifo', /a FIFO/],
    ['sub/link-to-dir', /symbolic link/],
  ] as const;
  const bytes = data.reduce((a, f) => a + statSync(f).size, 0);

  const r = dgen(['analyze', dir, '--json', '--no-per-chunk', '--chunk-sizes', '4KiB']);
  t.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  t.equal(doc.inputs, 2, 'only the two regular files are inputs');
  t.equal(doc.bytes, bytes, 'bytes are theirs alone (stat sizes)');
  t.same(
    doc.skipped.map((s: { uri: string }) => s.uri),
    expected.map(([name]) => pathToFileURL(join(dir, name)).href),
    'every skipped entry is listed, in name order',
  );
  for (const [i, [name, reason]] of expected.entries()) {
    t.match(doc.skipped[i].reason, reason, `${name}: why`);
    t.match(
      r.stderr,
      new RegExp(`skipped ${pathToFileURL(join(dir, name)).href.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `),
      `${name}: named on stderr`,
    );
  }
  const table = dgen(['analyze', dir, '--no-per-chunk']);
  t.equal(table.status, 0);
  t.match(table.stdout, /in 2 inputs/);
  t.match(table.stdout, /8 entries skipped/);

  // Named on its own, a manifest is read: the user asked for it.
  const named = dgen(['analyze', join(dir, 'dgen-manifest.json'), '--json', '--no-per-chunk']);
  t.equal(named.status, 0, named.stderr);
  t.equal(JSON.parse(named.stdout).inputs, 1);

  // The library says the same through onSkip.
  const seen: string[] = [];
  const report = await analyze([dir], { perChunk: false, chunkSizes: [4096], cdc: false, onSkip: (uri) => seen.push(uri) });
  t.equal(report.bytes, bytes);
  t.equal(seen.length, expected.length);
});

t.test('an entry swapped for a FIFO after the listing is refused when opened, not waited on', async (t) => {
  const dir = join(root, 'swap');
  mkdirSync(dir);
  const file = join(dir, 'x.bin');
  writeFileSync(file, randomBytes(1000));
  const inputs = [];
  for await (const input of listInputs([dir])) inputs.push(input);
  t.equal(inputs.length, 1);
  rmSync(file);
  mkfifo(file);
  await t.rejects(inputs[0]!.open(), { code: 'ERR_DGEN_INVALID_INPUT' }, 'fstat on the open descriptor says FIFO');
  rmSync(file);
  symlinkSync('/etc/hostname', file);
  await t.rejects(inputs[0]!.open(), { code: 'ERR_DGEN_INVALID_INPUT' }, 'a link in its place is not followed');
});

t.test('zero bytes: "no data", never a ratio', async (t) => {
  const empty = join(root, 'empty-dir');
  mkdirSync(empty);
  const r0 = dgen(['analyze', empty]);
  t.equal(r0.status, 0, r0.stderr);
  t.match(r0.stdout, /0 bytes\) in 0 inputs/);
  t.match(r0.stdout, /no data/);
  t.notMatch(r0.stdout, RATIO, 'no ratio printed');
  const file = join(empty, 'zero.bin');
  writeFileSync(file, '');
  const r1 = dgen(['analyze', file]);
  t.equal(r1.status, 0, r1.stderr);
  t.match(r1.stdout, /no data: every input is empty/);
  t.notMatch(r1.stdout, RATIO);
  const j = dgen(['analyze', file, '--json', '--chunk-sizes', '4KiB']);
  const doc = JSON.parse(j.stdout);
  t.equal(doc.noData, true);
  t.equal(doc.dedup['4096'], null, 'dedup ratio null');
  t.equal(doc.compression['zstd-1'].whole, null, 'compression ratio null');
  t.equal(doc.compression['zstd-1'].perChunk['4096'], null);
});

t.test('an s3:// prefix: dgen manifests are skipped and named; a prefix that names them lists them', async (t) => {
  const { startS3rver } = await import('../fixtures/servers.js');
  const { createS3Client } = await import('../../lib/index.js');
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  const s3 = await startS3rver(['analyze']);
  t.teardown(() => s3.stop());
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = createS3Client({ endpoint: s3.endpoint, credentials });
  t.teardown(() => client.destroy());
  const data = randomBytes(20_000);
  const objects: [string, Buffer][] = [
    ['run/obj-000000.bin', data],
    ['run/dgen-manifest.json', Buffer.from('{}')],
    ['run/dgen-manifest.records.ndjson', Buffer.from('{}\n')],
    ['run/dgen-manifest.shard-0-of-2.json', Buffer.from('{}')],
  ];
  for (const [key, body] of objects) await client.send(new PutObjectCommand({ Bucket: 'analyze', Key: key, Body: body }));
  const skipped: string[] = [];
  const report = await analyze(['s3://analyze/run/'], {
    endpoint: s3.endpoint,
    credentials,
    perChunk: false,
    cdc: false,
    chunkSizes: [4096],
    onSkip: (uri) => skipped.push(uri),
  });
  t.equal(report.inputs, 1, 'only the object is an input');
  t.equal(report.bytes, data.length);
  t.same(skipped.sort(), [
    's3://analyze/run/dgen-manifest.json',
    's3://analyze/run/dgen-manifest.records.ndjson',
    's3://analyze/run/dgen-manifest.shard-0-of-2.json',
  ]);
  const shards: string[] = [];
  for await (const input of listInputs(['s3://analyze/run/dgen-manifest.shard-'], { endpoint: s3.endpoint, credentials }))
    shards.push(input.uri);
  t.same(
    shards,
    ['s3://analyze/run/dgen-manifest.shard-0-of-2.json'],
    'a prefix naming the manifests lists them (dgen merge finds shards so)',
  );
});
