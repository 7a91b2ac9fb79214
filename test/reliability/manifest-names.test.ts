// Object names do not collide: no two committed records name the same object (in version 1 and 2, with
// template names and others), and no record names the manifest or its records file under the target.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MANIFEST_NAME, putObjects, readManifest, readManifestRecords, verifyObjects, type Manifest } from '../../lib/index.js';
import { ObjectNames, SparseBitmap } from '../../lib/manifest-names.js';

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const dgen = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
type Json = Record<string, unknown>;

const root = await mkdtemp(join(tmpdir(), 'dgen-names-'));
t.teardown(() => rm(root, { recursive: true, force: true }));

t.test('two committed records with one name: refused at the second, naming its line', async (t) => {
  const target = join(root, 'dup');
  await putObjects({ target, count: 4, size: 4096, seed: 9 });
  const recordsPath = join(target, 'dgen-manifest.records.ndjson');
  const good = (await readFile(recordsPath, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Json);
  good.sort((a, b) => Number(a.objectId) - Number(b.objectId));
  const write = (lines: Json[]) => writeFile(recordsPath, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const cases: [string, Json[]][] = [
    ['a template name twice', [good[0]!, good[1]!, { ...good[2]!, name: good[0]!.name }, good[3]!]],
    ['a template name used by another object first', [{ ...good[0]!, name: 'obj-000002.bin' }, good[1]!, good[2]!, good[3]!]],
    ['other names twice', [{ ...good[0]!, name: 'custom.bin' }, good[1]!, { ...good[2]!, name: 'custom.bin' }, good[3]!]],
    ['names under a directory twice', [{ ...good[0]!, name: 'd/x.bin' }, good[1]!, { ...good[2]!, name: 'd/x.bin' }, good[3]!]],
  ];
  for (const [what, lines] of cases) {
    await write(lines);
    await t.rejects(
      verifyObjects({ target }),
      {
        code: 'ERR_DGEN_INVALID_MANIFEST',
        field: 'name',
        line: 3,
        message: /line 3: name must be a name no other committed record has/,
      },
      what,
    );
  }
  const r = dgen(['verify', target]);
  t.equal(r.status, 2, 'dgen verify: exit 2');
  t.match(r.stderr, /line 3: name must be a name no other committed record has.*"d\/x\.bin" \[ERR_DGEN_INVALID_MANIFEST\]/);
  // A failure record may share its name with nothing else to check: failed objects are never read.
  const manifest = JSON.parse(await readFile(join(target, MANIFEST_NAME), 'utf8')) as Json;
  await writeFile(join(target, MANIFEST_NAME), JSON.stringify({ ...manifest, committed: 3, failed: 1 }));
  await write([good[0]!, good[1]!, good[2]!, { objectId: '3', name: 'obj-000003.bin', failure: { attempts: 3, error: 'EIO' } }]);
  const report = await verifyObjects({ target });
  t.equal(report.ok, 3, 'the three committed objects verify');
  t.equal(report.objects, 3, 'the failed one is not read');
});

t.test('version 1: objects[i] repeating a name is named with its index', async (t) => {
  const target = join(root, 'v1');
  await putObjects({ target, count: 3, size: 4096, seed: 10 });
  const v2 = (await readManifest(join(target, MANIFEST_NAME))) as Manifest & Json;
  const objects: Json[] = [];
  for await (const r of readManifestRecords(v2, join(target, MANIFEST_NAME)))
    objects.push({ ...r, uri: pathToFileURL(join(target, r.name)).href });
  objects.sort((a, b) => Number(a.objectId) - Number(b.objectId));
  const { records: _r, committed: _c, failed: _f, bytes: _b, ...fixed } = v2;
  const path = join(target, 'v1.json');
  await writeFile(
    path,
    JSON.stringify({
      ...fixed,
      version: 1,
      objects: [objects[0], objects[1], { ...objects[2], name: objects[0]!.name }],
      failures: [],
    }),
  );
  await t.rejects(verifyObjects({ target, manifest: path }), {
    code: 'ERR_DGEN_INVALID_MANIFEST',
    field: 'objects[2].name',
    index: 2,
    message: /objects\[2\]\.name must be a name no other committed record has/,
  });
});

t.test('a record naming the manifest or its records file under the target is refused', async (t) => {
  // `put --name-template {n} --manifest d/1`: object "1" and the manifest "1" would be one file.
  const target = join(root, 'own');
  await putObjects({ target, count: 3, size: 4096, seed: 11, nameTemplate: '{n}' });
  await copyFile(join(target, '1'), join(root, 'object-1'));
  await copyFile(join(target, MANIFEST_NAME), join(target, '1'));
  await copyFile(join(target, 'dgen-manifest.records.ndjson'), join(target, '1.records.ndjson'));
  const fixed = JSON.parse(await readFile(join(target, '1'), 'utf8')) as Json;
  await writeFile(join(target, '1'), JSON.stringify({ ...fixed, records: '1.records.ndjson' }));
  await t.rejects(verifyObjects({ target, manifest: join(target, '1') }), {
    code: 'ERR_DGEN_INVALID_MANIFEST',
    field: 'name',
    message: /name must be a name other than the manifest files under the target; got "1"/,
  });
  const r = dgen(['verify', target, '--manifest', join(target, '1')]);
  t.equal(r.status, 2);
  t.match(r.stderr, /name must be a name other than the manifest files under the target; got "1"/);
  // The records file's own name, too.
  const lines = (await readFile(join(target, '1.records.ndjson'), 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Json);
  const renamed = lines.map((l) =>
    l.objectId === '1' ? { ...l, name: 'x' } : l.objectId === '2' ? { ...l, name: '1.records.ndjson' } : l,
  );
  await writeFile(join(target, '1.records.ndjson'), renamed.map((l) => JSON.stringify(l)).join('\n') + '\n');
  await t.rejects(verifyObjects({ target, manifest: join(target, '1') }), {
    code: 'ERR_DGEN_INVALID_MANIFEST',
    field: 'name',
    message: /got "1\.records\.ndjson"/,
  });
  // The same manifest stored outside the target does not reserve those names.
  await copyFile(join(target, '1'), join(root, '1'));
  await copyFile(join(target, 'dgen-manifest.records.ndjson'), join(root, '1.records.ndjson'));
  await copyFile(join(root, 'object-1'), join(target, '1'));
  const report = await verifyObjects({ target, manifest: join(root, '1'), extras: false });
  t.equal(report.ok, 3, 'object "1" verifies when the manifest is elsewhere');
});

t.test(
  'ObjectNames: names of the template shape in sparse bitmaps (one per digit count), others as strings; membership exact',
  async (t) => {
    const names = new ObjectNames('obj-{index}.bin{ext}', '.zst');
    t.ok(names.add('obj-0000007.bin.zst'));
    t.notOk(names.add('obj-0000007.bin.zst'), 'twice');
    t.ok(names.add('obj-000007.bin.zst'), 'a different padding is another name');
    t.ok(names.add('obj-7.bin.zst'), 'and no padding another');
    t.notOk(names.has('obj-07.bin.zst'));
    t.notOk(names.add('obj-000007.bin.zst'));
    t.ok(names.has('obj-0000007.bin.zst'));
    t.notOk(names.has('obj-0000008.bin.zst'));
    t.notOk(names.has('obj-0000007.bin'), 'the extension counts');
    t.ok(names.add('obj-1999999.bin.zst'));
    t.equal(names.size, 4);
    const huge = new ObjectNames('{n}', '');
    for (const i of [0, 1, 2 ** 40, 2 ** 53 - 2]) t.ok(huge.add(String(i)), `index ${i} of a 2^53 run`);
    t.notOk(huge.add(String(2 ** 40)));
    t.notOk(huge.has('01'), 'a leading zero is not the name of 1');
    const two = new ObjectNames('{index}-{n}', '');
    t.ok(two.add('000001-1'));
    t.notOk(two.add('000001-1'), 'templates with two numeric fields keep names as strings, exactly');
    const bits = new SparseBitmap();
    t.ok(bits.add(2 ** 52 + 31));
    t.notOk(bits.add(2 ** 52 + 31));
    t.notOk(bits.has(2 ** 52 + 30));
  },
);
