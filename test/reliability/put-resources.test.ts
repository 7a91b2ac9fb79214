// Bounded resources: --concurrency has a maximum (1024) and is lowered to what RLIMIT_NOFILE allows;
// EMFILE waits and retries instead of failing objects; a huge count starts writing at once in flat memory.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { limitConcurrency, openFilesLimit } from '../../lib/limits.js';

const bin = fileURLToPath(new URL('../../bin/dgen.js', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const root = await mkdtemp(join(tmpdir(), 'dgen-put-resources-'));
t.teardown(() => rm(root, { recursive: true, force: true }));

function sh(
  script: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { encoding: 'utf8', env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: unknown }).code as number | null) : 0, stdout, stderr });
    });
  });
}

t.test('the open-files limit is read from /proc/self/limits', async (t) => {
  t.equal(
    openFilesLimit(
      'Limit                     Soft Limit           Hard Limit           Units\nMax open files            200                  4096                 files\n',
    ),
    200,
  );
  t.equal(openFilesLimit('Max open files            unlimited            unlimited            files\n'), Infinity);
  t.equal(openFilesLimit('nothing here'), undefined);
  const r = await sh(`ulimit -n 321; exec cat /proc/self/limits`);
  t.equal(openFilesLimit(r.stdout), 321, 'the kernel reports what ulimit set');
  t.match(limitConcurrency(400, 200), { requested: 400, used: 68, openFiles: 200, measured: true });
  t.match(limitConcurrency(4, null), { used: 4, openFiles: 1024, measured: false });
});

t.test('ulimit -n 200, --count 400 --concurrency 400: every object commits (stream and native planes)', async (t) => {
  for (const compression of ['gzip', 'none']) {
    const dir = join(root, `cc-${compression}`);
    const r = await sh(
      `ulimit -n 200; exec "${process.execPath}" "${bin}" put "${dir}" --count 400 --concurrency 400 --size 4KiB --compression ${compression} --json`,
    );
    t.equal(r.status, 0, r.stderr.slice(-3000));
    const doc = JSON.parse(r.stdout);
    t.match(doc, {
      ok: true,
      committed: 400,
      failed: 0,
      concurrency: { requested: 400, used: 68, openFiles: 200, measured: true },
    });
  }
  const human = await sh(
    `ulimit -n 200; exec "${process.execPath}" "${bin}" put "${join(root, 'cc-human')}" --count 10 --concurrency 400 --size 4KiB --compression gzip`,
  );
  t.match(human.stderr, /concurrency lowered from 400 to 68 \(open files limit 200\)/);
});

t.test('EMFILE waits and retries instead of failing objects', async (t) => {
  // A process that has used up most of its descriptors before the put: the lowered concurrency is not
  // enough, opens fail with EMFILE, and those objects wait for descriptors instead of failing.
  const script = join(root, 'emfile.mjs');
  writeFileSync(
    script,
    `import { openSync } from 'node:fs';
const { putObjects } = await import(${JSON.stringify(dist)});
const held = [];
try { for (;;) held.push(openSync('/dev/null', 'r')); } catch {}
for (const fd of held.splice(0, 40)) (await import('node:fs')).closeSync(fd);
const r = await putObjects({ target: process.argv[2], count: 300, size: 4096, concurrency: 64, compression: 'gzip', retryBaseMs: 1, attempts: 1 });
console.log(JSON.stringify({ committed: r.committed, failed: r.failed, failures: r.failures.slice(0, 3) }));
`,
  );
  const r = await sh(`ulimit -n 200; exec "${process.execPath}" "${script}" "${join(root, 'emfile')}"`, {
    ...process.env,
    NODE_DEBUG: 'dgen',
  });
  t.equal(r.status, 0, r.stderr.slice(-3000));
  t.match(JSON.parse(r.stdout.trim().split('\n').pop()!), { committed: 300, failed: 0 });
  t.match(r.stderr, /no free file descriptor for file:\/\/\S+: waiting \d+ ms \(EMFILE/, 'EMFILE happened and was waited out');
});

t.test('--concurrency above the maximum is a usage error', async (t) => {
  const r = await sh(`exec "${process.execPath}" "${bin}" put "${join(root, 'max')}" --concurrency 20000`);
  t.equal(r.status, 2);
  t.match(r.stderr, /--concurrency: concurrency must be a whole number from 1 to 1024/);
});

t.test('--count 1000000000 starts writing at once, in flat memory', async (t) => {
  const dir = join(root, 'huge');
  const child = spawn(process.execPath, [bin, 'put', dir, '--count', '1000000000', '--size', '0'], { stdio: 'ignore' });
  t.teardown(() => void child.kill('SIGKILL'));
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024;
  const count = () => {
    try {
      return readdirSync(dir).length;
    } catch {
      return 0;
    }
  };
  const until = async (objects: number) => {
    while (child.exitCode === null && count() < objects) await sleep(200);
  };
  await until(10_000);
  const early = rss();
  await until(60_000);
  const late = rss();
  t.equal(child.exitCode, null, 'still writing');
  t.ok(count() >= 60_000, 'objects are written as the run goes (the plan is lazy)');
  t.ok(
    late - early < 48 * 1024 * 1024,
    `RSS ${(early / 2 ** 20).toFixed(0)} MiB at 10,000 objects, ${(late / 2 ** 20).toFixed(0)} MiB at 60,000`,
  );
  child.kill('SIGKILL');
});

t.test('--count 1000000000 with a size distribution starts writing before its sizes are summed', async (t) => {
  // Summing 10^9 sizes first would take about half an hour: the objects come first, the total later.
  const dir = join(root, 'huge-distribution');
  const child = spawn(process.execPath, [bin, 'put', dir, '--count', '1000000000', '--size', 'uniform:1,100'], {
    stdio: 'ignore',
  });
  t.teardown(() => void child.kill('SIGKILL'));
  const count = () => {
    try {
      return readdirSync(dir).length;
    } catch {
      return 0;
    }
  };
  while (child.exitCode === null && count() < 5000) await sleep(200);
  t.equal(child.exitCode, null, 'still running');
  t.ok(count() >= 5000, 'objects written');
  child.kill('SIGKILL');
});
