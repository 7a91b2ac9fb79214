// dgen analyze's --sample and --hash flags, end to end through the CLI (bin/dgen.js runs dist/).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));
const dgen = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

t.test('--sample gives intervals that hold the full answer; --hash sha256 finds the same dedup', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dgen-cli-analyze-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(dgen(['put', dir, '--count', '2', '--size', '4MiB', '--dedup', '2', '--seed', '5', '--no-progress']).status, 0);
  const run = (extra: string[]) => {
    const r = dgen(['analyze', dir, '--no-per-chunk', '--no-cdc', '--chunk-sizes', '4KiB', '--json', '--no-progress', ...extra]);
    t.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as {
      dedup: Record<string, number>;
      index: { hash: string };
      sample?: { rate: number; dedup: Record<string, [number, number]> };
    };
  };
  const full = run([]);
  t.equal(full.dedup['4096'], 2, 'the full answer: d = 2');
  t.notOk(full.sample, 'no sample section without --sample');
  const sampled = run(['--sample', '25%']);
  t.equal(sampled.sample?.rate, 0.25);
  const [lo, hi] = sampled.sample!.dedup['4096']!;
  t.ok(lo <= 2 && 2 <= hi, `the 95% interval [${lo}, ${hi}] holds 2`);
  const sha = run(['--hash', 'sha256']);
  t.equal(sha.index.hash, 'sha-256');
  t.equal(sha.dedup['4096'], full.dedup['4096'], 'SHA-256 fingerprints give the same dedup ratio');
  for (const [flag, value] of [
    ['--sample', '0'],
    ['--sample', '150%'],
    ['--hash', 'md5'],
  ] as const) {
    const bad = dgen(['analyze', dir, flag, value]);
    t.equal(bad.status, 2, `${flag} ${value} is a usage error`);
    t.match(
      bad.stderr,
      new RegExp(`^dgen: ${flag}: .*got "${value.replace('%', '%')}" \\[ERR_DGEN_INVALID_OPTION\\]`),
      bad.stderr,
    );
  }
});

t.test('--full measures every codec; the default zstd-1 only; --no-per-chunk no compression', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dgen-cli-analyze-full-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(dgen(['put', dir, '--count', '1', '--size', '1MiB', '--compress', '2', '--seed', '7', '--no-progress']).status, 0);
  const run = (extra: string[]) => {
    const r = dgen(['analyze', dir, '--no-cdc', '--chunk-sizes', '4KiB', '--json', '--no-progress', ...extra]);
    t.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { compression: Record<string, unknown> };
  };
  t.same(Object.keys(run([]).compression).sort(), ['zstd-1'], 'default: zstd-1 only');
  t.same(Object.keys(run(['--full']).compression).sort(), ['gzip-6', 'lz4', 'zstd-1', 'zstd-3'], '--full: every codec');
  t.same(Object.keys(run(['--no-per-chunk']).compression), [], '--no-per-chunk: no compression');
  const help = dgen(['analyze', '--help']).stdout;
  t.match(help, /--full/, '--help names --full');
  t.match(help, /By default dedup is exact at every chunking/, '--help describes the defaults');
});
