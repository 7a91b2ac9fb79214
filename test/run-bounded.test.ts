import t from 'tap';
import { setImmediate as tick } from 'node:timers/promises';
import { runBounded } from '../lib/run-bounded.js';

/** A task whose completion the test controls: resolve(i) / reject(i) finish task i. */
function controlled<R>() {
  const pending = new Map<number, { resolve: (v: R) => void; reject: (e: unknown) => void }>();
  let inFlight = 0;
  let most = 0;
  const task = (_item: unknown, index: number) =>
    new Promise<R>((resolve, reject) => {
      inFlight++;
      most = Math.max(most, inFlight);
      pending.set(index, {
        resolve: (v) => (inFlight--, resolve(v)),
        reject: (e) => (inFlight--, reject(e)),
      });
    });
  return { task, pending, inFlight: () => inFlight, most: () => most };
}

/** Lets the runner take its next steps (launch what it can). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await tick();
}

t.test('at most concurrency tasks in flight; outcomes by launch index', async (t) => {
  const c = controlled<string>();
  const run = runBounded(['a', 'b', 'c', 'd', 'e'], c.task, { concurrency: 2 });
  await settle();
  t.same([...c.pending.keys()], [0, 1], 'two launched, no more');
  // Finish out of order: the results stay at their indices.
  c.pending.get(1)!.resolve('B');
  await settle();
  t.same([...c.pending.keys()], [0, 1, 2], 'a free slot launches the next item');
  c.pending.get(2)!.resolve('C');
  await settle();
  c.pending.get(0)!.resolve('A');
  await settle();
  c.pending.get(3)!.resolve('D');
  c.pending.get(4)!.resolve('E');
  const r = await run;
  t.equal(c.most(), 2);
  t.same(
    r.settled,
    ['A', 'B', 'C', 'D', 'E'].map((value) => ({ ok: true, value })),
  );
  t.equal(r.launched, 5);
  t.equal(r.failed, 0);
  t.equal(r.stopped, undefined);
  t.equal(r.firstError, undefined);
});

t.test('a rejecting task is recorded and the run goes on (no failFast); a synchronous throw too', async (t) => {
  const boom = new Error('boom');
  const r = await runBounded(
    [1, 2, 3, 4],
    (n) => {
      if (n === 2) throw boom;
      if (n === 3) return Promise.reject(new Error('three'));
      return n * 10;
    },
    { concurrency: 3 },
  );
  t.equal(r.launched, 4);
  t.equal(r.failed, 2);
  t.same(r.firstError, { index: 1, error: boom });
  t.same(
    r.settled.map((s) => s.ok),
    [true, false, false, true],
  );
  t.same(r.settled[0], { ok: true, value: 10 });
  t.match(r.settled[2], { ok: false, error: { message: 'three' } });
  t.equal(r.stopped, undefined);
});

t.test('failFast: nothing launched after the first rejection; tasks in flight are awaited', async (t) => {
  const c = controlled<number>();
  let taken = 0;
  function* items() {
    for (let i = 0; i < 100; i++) {
      taken++;
      yield i;
    }
  }
  let resolved = false;
  const run = runBounded(items(), c.task, { concurrency: 3, failFast: true }).then((r) => ((resolved = true), r));
  await settle();
  c.pending.get(1)!.reject(new Error('first'));
  await settle();
  t.equal(c.pending.size, 3, 'no task launched after the failure');
  t.equal(resolved, false, 'the run waits for the tasks in flight');
  c.pending.get(0)!.resolve(0);
  c.pending.get(2)!.reject(new Error('second'));
  const r = await run;
  t.equal(r.stopped, 'fail-fast');
  t.equal(r.launched, 3);
  t.equal(r.failed, 2);
  t.match(r.firstError, { index: 1, error: { message: 'first' } });
  t.equal(taken, 3, 'no item taken after the failure');
});

t.test('abort: nothing launched after it, tasks in flight awaited, resolves (does not reject) with stopped', async (t) => {
  const c = controlled<number>();
  const ac = new AbortController();
  let finalized = false;
  function* items() {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      finalized = true;
    }
  }
  const run = runBounded(items(), c.task, { concurrency: 2, signal: ac.signal, collect: false });
  await settle();
  ac.abort(new Error('stop'));
  c.pending.get(0)!.resolve(0);
  await settle();
  t.equal(c.pending.size, 2, 'no task launched after the abort');
  c.pending.get(1)!.resolve(1);
  const r = await run;
  t.equal(r.stopped, 'abort');
  t.equal(r.launched, 2);
  t.same(r.settled, [], 'collect: false keeps no outcome');
  t.ok(finalized, "the iterator's return() ran");

  const none = await runBounded([1, 2], () => t.fail('launched after abort'), { concurrency: 1, signal: AbortSignal.abort() });
  t.same(none, { settled: [], launched: 0, failed: 0, stopped: 'abort' }, 'an aborted signal launches nothing');
});

t.test('an async iterable is pulled one next() at a time; its error rejects the run after the tasks in flight', async (t) => {
  let pulling = 0;
  let mostPulling = 0;
  const c = controlled<number>();
  const iterable: AsyncIterable<number> = {
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        async next() {
          pulling++;
          mostPulling = Math.max(mostPulling, pulling);
          await tick();
          pulling--;
          if (i === 3) throw new Error('records unreadable');
          return { done: false, value: i++ };
        },
      };
    },
  };
  let rejected: unknown;
  const run = runBounded(iterable, c.task, { concurrency: 8 }).catch((err) => (rejected = err));
  await settle();
  t.equal(mostPulling, 1, 'never two next() at once');
  t.same([...c.pending.keys()], [0, 1, 2]);
  t.equal(rejected, undefined, 'not rejected while tasks are in flight');
  for (const p of c.pending.values()) p.resolve(0);
  await run;
  t.match(rejected, { message: 'records unreadable' });
});

t.test('bad options are rejected with codes, before any item is taken', async (t) => {
  let taken = false;
  const items = {
    *[Symbol.iterator]() {
      taken = true;
      yield 1;
    },
  };
  const task = async () => 1;
  await t.rejects(runBounded(items, task, { concurrency: 0 }), {
    name: 'RangeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'concurrency',
  });
  await t.rejects(runBounded(items, task, { concurrency: '4' as never }), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'concurrency',
  });
  await t.rejects(runBounded(items, task, { concurrency: 1, signal: {} as never }), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'signal',
  });
  await t.rejects(runBounded(items, task, { concurrency: 1, failFast: 'yes' as never }), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'failFast',
  });
  await t.rejects(runBounded(items, 'task' as never, { concurrency: 1 }), { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'task' });
  t.equal(taken, false);
});
