// verify never follows a link out of the target: a symbolic link where an object should be, or a linked
// directory on the way to it, is an error for that object, on the native path (uncompressed objects) and
// on the stream path (compressed ones), even when the link leads to a byte-exact copy of the object.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { putObjects, verifyObjects } from '../../lib/index.js';

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const dgen = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

const root = await mkdtemp(join(tmpdir(), 'dgen-symlinks-'));
t.teardown(() => rm(root, { recursive: true, force: true }));

for (const compression of ['none', 'gzip'] as const) {
  const ext = compression === 'gzip' ? '.gz' : '';
  const path = compression === 'none' ? 'native path' : 'stream path';

  t.test(`${path}: a symbolic link to a copy of the object outside the target is refused`, async (t) => {
    const target = join(root, `file-${compression}`, 't');
    await putObjects({ target, count: 3, size: 20000, compressRatio: 2, seed: 3, compression });
    const outside = join(root, `file-${compression}`, 'outside');
    await mkdir(outside);
    await rename(join(target, `obj-000001.bin${ext}`), join(outside, `obj-000001.bin${ext}`));
    await symlink(join(outside, `obj-000001.bin${ext}`), join(target, `obj-000001.bin${ext}`));
    const report = await verifyObjects({ target });
    t.equal(report.ok, 2, 'the two real files match');
    t.equal(report.errors.length, 1);
    t.match(report.errors[0], { name: `obj-000001.bin${ext}`, status: 'error', error: /symbolic link/ });
    const r = dgen(['verify', target]);
    t.equal(r.status, 1, 'dgen verify fails');
    t.match(r.stdout, new RegExp(`ERROR +file://.*obj-000001\\.bin${ext.replace('.', '\\.')}: .*symbolic link`));
  });

  t.test(`${path}: a linked directory on the way out of the target is refused`, async (t) => {
    const base = join(root, `dir-${compression}`);
    const target = join(base, 't');
    await putObjects({
      target,
      count: 3,
      size: 20000,
      compressRatio: 2,
      seed: 4,
      compression,
      nameTemplate: 'sub/obj-{index}.bin{ext}',
    });
    await mkdir(join(base, 'elsewhere'));
    await rename(join(target, 'sub'), join(base, 'elsewhere', 'sub'));
    await symlink(join(base, 'elsewhere', 'sub'), join(target, 'sub'));
    const report = await verifyObjects({ target, extras: false });
    t.equal(report.ok, 0, 'no object is read through the link');
    t.equal(report.errors.length, 3);
    for (const e of report.errors) t.match(e, { status: 'error', error: /symbolic link/ }, e.name);
    const r = dgen(['verify', target]);
    t.equal(r.status, 1);
    t.match(r.stdout, /0 of 3 objects match/);
  });

  t.test(`${path}: a target that is itself a link to its directory verifies (the link is the user's own path)`, async (t) => {
    const base = join(root, `root-${compression}`);
    const real = join(base, 'real');
    await putObjects({ target: real, count: 2, size: 9000, seed: 8, compression });
    await symlink(real, join(base, 'alias'));
    const report = await verifyObjects({ target: join(base, 'alias'), manifest: join(base, 'alias', 'dgen-manifest.json') });
    t.equal(report.ok, 2);
    t.equal(report.errors.length, 0);
    t.equal(dgen(['verify', join(base, 'alias')]).status, 0);
    // The same objects copied under a real directory verify too (nothing else about them is special).
    await cp(real, join(base, 'copy'), { recursive: true });
    t.equal((await verifyObjects({ target: join(base, 'copy'), manifest: join(base, 'copy', 'dgen-manifest.json') })).ok, 2);
  });
}
