// Stale .dgen-partial files: a `dgen put` killed with SIGKILL cannot remove the temporary files of the
// objects it was writing; the next put into the same target removes them (only files of its own object
// names, named exactly as the writers name them) and says how many.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const root = await mkdtemp(join(tmpdir(), 'dgen-put-partials-'));
t.teardown(() => rm(root, { recursive: true, force: true }));

const partials = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.dgen-partial'))
        .sort()
    : [];
/** Temporary files of the writers for objects 0-3. */
const objectPartials = (dir: string) =>
  partials(dir).filter((f) => /^\.obj-00000[0-3]\.bin\.[0-9a-f]{12}[0-9a-z]*\.dgen-partial$/.test(f));
/** Those and the records' (and manifest's): the run's own temporary files. */
const ours = (dir: string) =>
  partials(dir).filter((f) =>
    /^\.(obj-00000[0-3]\.bin|dgen-manifest\.json|dgen-manifest\.records\.ndjson)\.[0-9a-f]{12}[0-9a-z]*\.dgen-partial$/.test(f),
  );

/** Starts `dgen put` on large objects into `dir` (as `target`) and SIGKILLs it once temporary files exist. */
async function killMidWrite(t: Test, dir: string, target: string, extra: string[] = []): Promise<string[]> {
  const child = spawn(process.execPath, [bin, 'put', target, '--count', '4', '--size', '1GiB', '--seed', '3', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  for (let i = 0; i < 60_000 && child.exitCode === null; i++) {
    if (objectPartials(dir).length > 0) break;
    await sleep(2);
  }
  child.kill('SIGKILL');
  await exited;
  t.equal(child.signalCode, 'SIGKILL', `killed mid-write (not finished on its own)\n${stderr}`);
  return ours(dir);
}

function put(args: string[]) {
  return spawnSync(process.execPath, [bin, 'put', ...args], { encoding: 'utf8' });
}

for (const scheme of ['file', 'direct'] as const) {
  t.test(`${scheme}://: partials left by SIGKILL are removed by the next put, and counted`, async (t) => {
    const dir = join(root, scheme);
    const target = scheme === 'file' ? dir : `direct://${dir}`;
    const left = await killMidWrite(t, dir, target);
    t.ok(objectPartials(dir).length > 0, `SIGKILL left temporary files: ${left.join(', ')}`);
    t.same(partials(dir), left, 'named as the writers name them');
    // Files that are not this run's temporary files stay: another name, a tag that is not ours, a
    // directory, an index beyond the run's count.
    const foreign = [
      '.notes.txt.0123456789ab.dgen-partial',
      '.obj-000001.bin.XYZ.dgen-partial',
      '.obj-000001.bin.dgen-partial',
      '.obj-000009.bin.0123456789ab0.dgen-partial',
      'obj-000001.bin.0123456789ab.dgen-partial',
    ];
    for (const f of foreign) writeFileSync(join(dir, f), 'keep');

    const r = put([target, '--count', '4', '--size', '64KiB', '--seed', '3', '--json']);
    t.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    t.equal(doc.ok, true);
    t.equal(doc.partialsRemoved, left.length, 'the count of removed files is reported');
    t.same(partials(dir), [...foreign].sort(), 'only the stale files of the run are gone');
    t.equal(readdirSync(dir).filter((f) => /^obj-00000\d\.bin$/.test(f)).length, 4);

    // The human summary says it too.
    t.ok((await killMidWrite(t, dir, target, ['--overwrite'])).length > 0);
    const again = put([target, '--count', '4', '--size', '64KiB', '--seed', '3', '--overwrite']);
    t.equal(again.status, 0, again.stderr);
    t.match(again.stderr, /removed \d+ stale \.dgen-partial file\(s\)/);
    t.same(partials(dir), [...foreign].sort());
  });
}

t.test('a shard removes only the partials of its own objects', async (t) => {
  const dir = join(root, 'shards');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const names = [0, 1, 2, 3].map((i) => `.obj-00000${i}.bin.0123456789ab${i}.dgen-partial`);
  for (const f of names) writeFileSync(join(dir, f), 'x');
  const r = put([dir, '--count', '4', '--size', '4KiB', '--shard', '1/2', '--json']);
  t.equal(r.status, 0, r.stderr);
  t.equal(JSON.parse(r.stdout).partialsRemoved, 2);
  t.same(partials(dir), [names[0], names[2]].sort(), "the other shard's files stay");
});
