// A rate on DataSource, createWebStream and writeToFd: never faster than asked (the bytes up to E go out
// no earlier than E / rate after the start), and within 5% of it over a few seconds; the bytes are the
// same as unpaced; bad rates are typed errors.
import t from 'tap';
import { openSync, closeSync, existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGenerator, createWebStream, DataSource } from '../lib/index.js';

const shape = { compressRatio: 2, dedupRatio: 1, seed: 5n };
const MiB = 1024 * 1024;

/** Time this process lost to starvation while `watch` runs: the summed lateness of a 2 ms interval timer
 * (how much later than due each tick fired). A pacer cannot send on time while the process is not
 * scheduled, so the lower bound allows for exactly this time and no more: on an idle machine it is a few
 * milliseconds and the bound is 5%; on a machine busy with other processes the test stays meaningful
 * instead of flaky (the pacer must still catch up with its schedule once it runs again). */
function starvation(): () => number {
  const tick = 2;
  let last = process.hrtime.bigint();
  let lost = 0;
  const timer = setInterval(() => {
    const now = process.hrtime.bigint();
    lost += Math.max(0, Number(now - last) / 1e6 - tick - 1);
    last = now;
  }, tick);
  return () => {
    clearInterval(timer);
    return lost / 1000;
  };
}

/** Checks the measured rate of `size` bytes in `seconds` against `rate`, allowing `starved` seconds the
 * process was not scheduled. */
function checkRate(t: Tap.Test, what: string, size: number, seconds: number, rate: number, starved: number): void {
  const measured = size / seconds;
  const paced = size / Math.max(seconds - starved, size / rate);
  t.ok(
    measured <= rate * 1.001,
    `${what}: never faster than the rate (${(measured / MiB).toFixed(2)} MiB/s for ${(rate / MiB).toFixed(2)})`,
  );
  t.ok(
    paced >= rate * 0.95,
    `${what}: within 5% of the rate (${(measured / MiB).toFixed(2)} MiB/s for ${(rate / MiB).toFixed(2)}; ${starved.toFixed(3)} s starved)`,
  );
}

const elapsed = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

t.test('DataSource paced at 8 MiB/s for 3 s: rate, bytes and chunk size', async (t) => {
  const rate = 8 * MiB;
  const size = 24 * MiB;
  const source = new DataSource({ size, ...shape, rate: '8MiB/s' });
  t.equal(source.rate, rate);
  t.equal(source.chunkSize, 838656, 'chunks of about a tenth of a second (a multiple of 512)');
  const parts: Buffer[] = [];
  const starved = starvation();
  const start = process.hrtime.bigint();
  await pipeline(source, new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }));
  checkRate(t, 'DataSource', size, elapsed(start), rate, starved());
  t.ok(Buffer.concat(parts).equals(createGenerator({ size, ...shape }).generateSync()), 'the same bytes as unpaced');
});

t.test('createWebStream paced at 6 MiB/s, default reader', async (t) => {
  const rate = 6 * MiB;
  const size = 18 * MiB;
  const starved = starvation();
  const start = process.hrtime.bigint();
  let got = 0;
  for await (const c of createWebStream({ size, ...shape, rate }) as unknown as AsyncIterable<Uint8Array>) got += c.byteLength;
  t.equal(got, size);
  checkRate(t, 'createWebStream', size, elapsed(start), rate, starved());
});

t.test('writeToFd paced at 10 MiB/s into a file', async (t) => {
  // On tmpfs where there is one: the pace under test is ours, not the disk's (another process writing
  // gigabytes can hold a page-cache write back by more than the 5% allowed).
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'dgen-pace-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'out.bin');
  const rate = 10 * MiB;
  const size = 30 * MiB + 4096;
  const fd = openSync(path, 'w');
  const starved = starvation();
  const start = process.hrtime.bigint();
  const g = createGenerator({ size, ...shape });
  t.equal(await g.writeToFd(fd, { rate: '10MiB' }), size);
  checkRate(t, 'writeToFd', size, elapsed(start), rate, starved());
  closeSync(fd);
  t.ok(readFileSync(path).equals(g.generateSync()), 'the file holds the object');
});

t.test('destroying a paced DataSource while it waits stops it at once', async (t) => {
  const source = new DataSource({ size: 1024 * MiB, ...shape, rate: MiB });
  source.on('data', () => source.destroy());
  await new Promise((resolve) => source.once('close', resolve));
  t.ok(source.destroyed, 'closed without waiting for the rest of the run');
});

t.test('bad rates are typed errors naming the option', async (t) => {
  for (const rate of [0, -1, 'fast', 'NaN', Infinity, '0MiB/s', {}]) {
    t.throws(
      () => new DataSource({ size: 1, rate: rate as never }),
      { code: 'ERR_DGEN_INVALID_OPTION', message: /rate/ },
      `DataSource rate ${String(rate)}`,
    );
    t.throws(
      () => createWebStream({ size: 1, rate: rate as never }),
      { code: 'ERR_DGEN_INVALID_OPTION' },
      `createWebStream rate ${String(rate)}`,
    );
    t.throws(
      () => createGenerator({ size: 1 }).writeToFd(1, { rate: rate as never }),
      { code: 'ERR_DGEN_INVALID_OPTION' },
      `writeToFd rate ${String(rate)}`,
    );
  }
});
