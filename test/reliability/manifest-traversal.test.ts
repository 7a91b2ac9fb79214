// Object names from a manifest stay inside the target: `..` segments, absolute paths, NUL, empty or `.`
// segments and partial-file names are refused before anything is opened, by the library and the CLI.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MANIFEST_NAME, putObjects, verifyObjects } from '../../lib/index.js';

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const dgen = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

const root = await mkdtemp(join(tmpdir(), 'dgen-traversal-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
const target = join(root, 'a', 'b', 't');
await putObjects({ target, count: 3, size: 16384, compressRatio: 2, seed: 5 });
const recordsPath = join(target, 'dgen-manifest.records.ndjson');
const good = (await readFile(recordsPath, 'utf8')).trimEnd().split('\n');
// A copy of object 1 outside the target: a verify that followed "../" would find it intact and say ok.
await copyFile(join(target, 'obj-000001.bin'), join(root, 'a', 'b', 'outside.bin'));

/** Records with line 2's name replaced. */
async function withName(name: string): Promise<void> {
  const lines = good.map((l) => JSON.parse(l) as { name: string; objectId: string });
  const i = lines.findIndex((l) => l.objectId === '1');
  lines[i]!.name = name;
  await writeFile(recordsPath, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return;
}
const lineOf = () => good.findIndex((l) => (JSON.parse(l) as { objectId: string }).objectId === '1') + 1;

const refused: [string, RegExp][] = [
  ['../../../../etc/hostname', /without "\.\." segments/],
  ['../outside.bin', /without "\.\." segments/],
  ['a/../../outside.bin', /without "\.\." segments/],
  ['..\\outside.bin', /without "\.\." segments/],
  ['..', /without "\.\." segments/],
  ['/etc/hostname', /relative name/],
  ['\\etc\\hostname', /relative name/],
  ['C:/Windows/win.ini', /relative name/],
  ['obj\u0000.bin', /without NUL/],
  ['a//obj-000001.bin', /empty segments/],
  ['./obj-000001.bin', /"\." or empty segments/],
  ['sub/', /empty segments/],
  ['.obj-000001.bin.1a2b3c.dgen-partial', /partial file/],
  ['dgen-manifest.json', /manifest files/],
  ['dgen-manifest.records.ndjson', /manifest files/],
  ['dgen-manifest.shard-0001-of-0002.json', /manifest files/],
];

t.test('names that leave the target or name a special file are refused before anything is read', async (t) => {
  const uri = pathToFileURL(recordsPath).href;
  for (const [name, why] of refused) {
    await withName(name);
    await t.rejects(
      verifyObjects({ target }),
      { name: 'RangeError', code: 'ERR_DGEN_INVALID_MANIFEST', field: 'name', line: lineOf(), location: uri, message: why },
      JSON.stringify(name),
    );
  }
});

t.test('dgen verify: a traversal name is a usage error naming the line and the name; nothing reported ok', async (t) => {
  for (const name of ['../../../../etc/hostname', '../outside.bin', '/etc/hostname']) {
    await withName(name);
    const r = dgen(['verify', target]);
    t.equal(r.status, 2, `${name}: exit 2`);
    t.match(r.stderr, new RegExp(`records\\.ndjson line ${lineOf()}: name must be .*\\[ERR_DGEN_INVALID_MANIFEST\\]`), name);
    t.equal(r.stdout, '', `${name}: no verdict printed`);
  }
});

t.test('legitimate names with directories verify; the same manifest with the name restored is intact', async (t) => {
  await writeFile(recordsPath, good.join('\n') + '\n');
  const report = await verifyObjects({ target });
  t.equal(report.ok, 3);
  const nested = join(root, 'nested');
  await putObjects({ target: nested, count: 2, size: 4096, seed: 6, nameTemplate: 'x/y/obj-{index}.bin' });
  t.equal((await verifyObjects({ target: nested })).ok, 2, 'names with "/" inside the target are fine');
  t.equal(dgen(['verify', nested]).status, 0);
  t.ok((await readFile(join(nested, MANIFEST_NAME), 'utf8')).length > 0);
});
