// verify reports the objects under the target that the manifest does not list (text and --json), without
// failing the run; the manifest files and .dgen-partial files are not extras, and a .dgen-partial file
// is never opened (here a FIFO: opening it for reading would block).
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { putObjects, verifyObjects } from '../../lib/index.js';
import { MAX_EXTRAS_LISTED } from '../../lib/verify.js';

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const dgen = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

const root = await mkdtemp(join(tmpdir(), 'dgen-extras-'));
t.teardown(() => rm(root, { recursive: true, force: true }));

t.test('extras are listed with their kind; manifest files and partial files are not', async (t) => {
  const target = join(root, 't');
  await putObjects({ target, count: 3, size: 4096, seed: 21 });
  await writeFile(join(target, 'stray.bin'), 'not from this run');
  await mkdir(join(target, 'sub', 'deeper'), { recursive: true });
  await writeFile(join(target, 'sub', 'deeper', 'old.bin'), 'x');
  await symlink('/etc/hostname', join(target, 'link'));
  execFileSync('mkfifo', [join(target, 'pipe')]);
  // A partial file that is a FIFO: verify must neither read it nor list it as an extra.
  execFileSync('mkfifo', [join(target, '.obj-000001.bin.1a2b3c4d.dgen-partial')]);
  // Manifest files of this and other runs under the target are not extras.
  await copyFile(join(target, 'dgen-manifest.json'), join(target, 'dgen-manifest.shard-0000-of-0002.json'));
  await copyFile(join(target, 'dgen-manifest.records.ndjson'), join(target, 'dgen-manifest.shard-0000-of-0002.records.ndjson'));
  const manifest = JSON.parse(await readFile(join(target, 'dgen-manifest.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(target, 'mine.json'), JSON.stringify({ ...manifest, records: 'mine.records.ndjson' }));
  await copyFile(join(target, 'dgen-manifest.records.ndjson'), join(target, 'mine.records.ndjson'));

  const report = await verifyObjects({ target, manifest: join(target, 'mine.json') });
  t.equal(report.ok, 3, 'the objects match');
  t.equal(report.objects, 3, 'extras are not counted as objects');
  t.equal(report.extraObjects, 4);
  t.equal(report.partialFiles, 1);
  const uri = (name: string) => pathToFileURL(join(target, name)).href;
  t.same(report.extras, [
    { name: 'link', uri: uri('link'), kind: 'symlink' },
    { name: 'pipe', uri: uri('pipe'), kind: 'fifo' },
    { name: 'stray.bin', uri: uri('stray.bin'), kind: 'file' },
    { name: 'sub/deeper/old.bin', uri: uri('sub/deeper/old.bin'), kind: 'file' },
  ]);

  const mine = join(target, 'mine.json');
  const r = dgen(['verify', target, '--manifest', mine]);
  t.equal(r.status, 0, 'extras alone do not fail verify');
  t.match(r.stdout, /3 of 3 objects match/);
  t.match(r.stdout, /4 objects under the target are not in the manifest \(not an error; --strict makes it one\)/);
  t.match(r.stdout, /EXTRA +file:\/\/.*\/link \(symlink\)/);
  t.match(r.stdout, /EXTRA +file:\/\/.*\/pipe \(fifo\)/);
  t.match(r.stdout, /EXTRA +file:\/\/.*\/stray\.bin\n/);
  t.match(r.stdout, /EXTRA +file:\/\/.*\/sub\/deeper\/old\.bin/);
  t.match(r.stdout, /1 \.dgen-partial file under the target \(unfinished writes; not read\)/);
  t.notMatch(r.stdout, /EXTRA.*(mine\.json|shard-0000|records\.ndjson)/, 'no manifest file is an extra');
  const strict = dgen(['verify', target, '--manifest', mine, '--strict']);
  t.equal(strict.status, 1, '--strict: extras fail verify');
  t.match(strict.stdout, /3 of 3 objects match/);
  // With the default manifest, the copies named mine.* are files like any other.
  t.match(dgen(['verify', target]).stdout, /6 objects under the target are not in the manifest/);

  const json = dgen(['verify', target, '--manifest', mine, '--json']);
  t.equal(json.status, 0);
  const doc = JSON.parse(json.stdout) as { extraObjects: number; extras: { name: string; kind: string }[]; partialFiles: number };
  t.equal(doc.extraObjects, 4);
  t.same(
    doc.extras.map((x) => [x.name, x.kind]),
    [
      ['link', 'symlink'],
      ['pipe', 'fifo'],
      ['stray.bin', 'file'],
      ['sub/deeper/old.bin', 'file'],
    ],
  );
  t.equal(doc.partialFiles, 1);

  const quiet = await verifyObjects({ target, extras: false });
  t.equal(quiet.extraObjects, undefined, 'extras: false skips the listing');
  t.equal(quiet.extras, undefined);
});

t.test('a clean target has no extras; a missing target is all missing, no extras', async (t) => {
  const target = join(root, 'clean');
  await putObjects({ target, count: 2, size: 1000, seed: 22, nameTemplate: 'a/b/{n}.bin' });
  const report = await verifyObjects({ target });
  t.equal(report.extraObjects, 0);
  t.same(report.extras, []);
  t.equal(report.partialFiles, 0);
  t.equal(dgen(['verify', target]).stdout.includes('EXTRA'), false);
  // The objects' directory removed: both missing, nothing extra.
  await rm(join(target, 'a'), { recursive: true });
  const gone = await verifyObjects({ target });
  t.equal(gone.missing.length, 2);
  t.equal(gone.extraObjects, 0);
});

t.test(`all extras are counted, the first ${MAX_EXTRAS_LISTED} by name listed`, async (t) => {
  const target = join(root, 'many');
  await putObjects({ target, count: 1, size: 100, seed: 23 });
  await mkdir(join(target, 'junk'));
  for (let i = 0; i < MAX_EXTRAS_LISTED + 50; i++) await writeFile(join(target, 'junk', `f${String(i).padStart(5, '0')}`), '');
  const report = await verifyObjects({ target });
  t.equal(report.extraObjects, MAX_EXTRAS_LISTED + 50);
  t.equal(report.extras!.length, MAX_EXTRAS_LISTED);
  const r = dgen(['verify', target]);
  t.equal(r.status, 0);
  t.match(
    r.stdout,
    new RegExp(
      `${MAX_EXTRAS_LISTED + 50} objects under the target are not in the manifest .*; the first ${MAX_EXTRAS_LISTED} by name:`,
    ),
  );
});
