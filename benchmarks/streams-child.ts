// One row of the `streams` benchmark in a fresh process (heap and page-cache state left by other rows
// skew stream timings): a source piped into a consumer, printed as one JSON line
// { gbps, p99ms, peakRssMiB }.
//
// Usage: streams-child.ts <source> <consumer> <bytes> <outFile>
//   source:   ours | zero16 | zero1 (Node Readables), web-ours | web-default | web-toweb | web-toweb-zero16 |
//             web-zero16 | web-zero1 (ReadableStreams; web-default: createWebStream's chunks through a default
//             stream; web-toweb-zero16: Readable.toWeb of the zero-cost 16-block Readable), fd
//             (DataGenerator.writeToFd, consumer must be devnull)
//   consumer: null (a Writable that does nothing), fs (fs.createWriteStream), filesink (FileSink, CRC-32C
//             on), direct (DirectFileSink), fetch (fetch PUT to a node:http server in another process),
//             fetch-notee (the same with `redirect: 'error', window: null`, so fetch does not tee the body:
//             undici issue #4058), reader (a default reader drains a web stream), devnull (for fd)
// "zero16" pushes 16 preallocated 4 MiB blocks in turn (64 MiB, so its bytes come from memory, not
// cache), "zero1" one block (cache-resident): the zero-cost baseline and the ceiling of issue 17.
import { createWriteStream, openSync, closeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DataSource, createWebStream, createGenerator, FileSink, DirectFileSink } from '../lib/index.js';

const [sourceName = 'ours', consumerName = 'null', bytesArg = String(2 ** 30), outFile = '/tmp/dgen-streams.out'] =
  process.argv.slice(2);
const size = Number(bytesArg);
const CHUNK = 4 * 1024 * 1024;
const shape = { size, compressRatio: 2, dedupRatio: 1, seed: 7 };
// DGEN_BENCH_QUEUE_DEPTH, DGEN_BENCH_HWM and DGEN_BENCH_THREADS: our sources' queueDepth (default 1),
// highWaterMark in bytes (default 2 x chunkSize) and threads (default: every pool worker fills each chunk),
// for experiments.
const queueDepth = process.env.DGEN_BENCH_QUEUE_DEPTH;
const hwm = process.env.DGEN_BENCH_HWM;
const threads = process.env.DGEN_BENCH_THREADS;
const options = {
  ...shape,
  chunkSize: CHUNK,
  ...(queueDepth && { queueDepth: Number(queueDepth) }),
  ...(hwm && { highWaterMark: Number(hwm) }),
  ...(threads && { threads: Number(threads) }),
};

/** A Readable (or its web counterpart) that pushes `blocks` preallocated chunks in turn. */
function zeroCost(blocks: number): Buffer[] {
  const pool = Array.from({ length: blocks }, () => randomFillSync(Buffer.allocUnsafeSlow(CHUNK)));
  return pool;
}
function zeroCostReadable(blocks: number): Readable {
  const pool = zeroCost(blocks);
  let sent = 0;
  let i = 0;
  return new Readable({
    highWaterMark: 2 * CHUNK,
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(CHUNK, size - sent);
      sent += n;
      this.push(n === CHUNK ? pool[i++ % blocks] : pool[i++ % blocks]!.subarray(0, n));
    },
  });
}
function zeroCostWeb(blocks: number): ReadableStream<Uint8Array> {
  const pool = zeroCost(blocks);
  let sent = 0;
  let i = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent >= size) return void controller.close();
        const n = Math.min(CHUNK, size - sent);
        sent += n;
        const b = pool[i++ % blocks]!;
        controller.enqueue(new Uint8Array(b.buffer, b.byteOffset, n));
      },
    },
    { highWaterMark: 2 },
  );
}

/** Our chunks through a default (not byte) stream: what fetch's tee does with chunks it need not clone
 * (issue 17 c: ReadableStreamDefaultTee hands both branches the same chunk, a byte stream's tee clones it). */
function asDefaultStream(bytes: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = bytes.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

function nodeSource(): Readable {
  if (sourceName === 'ours') return new DataSource(options);
  if (sourceName === 'zero16') return zeroCostReadable(16);
  if (sourceName === 'zero1') return zeroCostReadable(1);
  throw new Error(`unknown Node source ${sourceName}`);
}
function webSource(): ReadableStream<Uint8Array> {
  if (sourceName === 'web-ours') return createWebStream(options);
  if (sourceName === 'web-default') return asDefaultStream(createWebStream(options));
  if (sourceName === 'web-toweb') return Readable.toWeb(new DataSource(options)) as ReadableStream<Uint8Array>;
  if (sourceName === 'web-toweb-zero16') return Readable.toWeb(zeroCostReadable(16)) as ReadableStream<Uint8Array>;
  if (sourceName === 'web-zero16') return zeroCostWeb(16);
  if (sourceName === 'web-zero1') return zeroCostWeb(1);
  throw new Error(`unknown web source ${sourceName}`);
}

/** A node:http server in its own process that drains PUT bodies; resolves to its port and a stop(). */
async function startServer(): Promise<{ port: number; stop: () => void }> {
  const child = fork(fileURLToPath(new URL('./streams-server.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve(Number(m)));
    child.once('error', reject);
  });
  return { port, stop: () => child.kill() };
}

const server = consumerName.startsWith('fetch') ? await startServer() : undefined;
const h = monitorEventLoopDelay({ resolution: 1 });
// memoryUsage.rss() reads the resident set only; memoryUsage() also walks V8's heap spaces, which took 7 %
// of the main thread's time in a fetch row under load (--cpu-prof, 2026-12-02), in every row alike.
const base = process.memoryUsage.rss();
let peak = base;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
h.enable();
const start = process.hrtime.bigint();

if (sourceName === 'fd') {
  const fd = openSync('/dev/null', 'w');
  await createGenerator(shape).writeToFd(fd);
  closeSync(fd);
} else if (consumerName.startsWith('fetch')) {
  const body = sourceName.startsWith('web-') ? webSource() : nodeSource();
  const noTee = consumerName === 'fetch-notee' && { redirect: 'error', window: null };
  const res = await fetch(`http://127.0.0.1:${server!.port}/x`, {
    method: 'PUT',
    body: body as ReadableStream,
    duplex: 'half',
    ...noTee,
  } as RequestInit);
  const got = Number(await res.text());
  if (got !== size) throw new Error(`the server received ${got} bytes, not ${size}`);
} else if (consumerName === 'reader') {
  const reader = webSource().getReader();
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    got += value.byteLength;
  }
  if (got !== size) throw new Error(`read ${got} bytes, not ${size}`);
} else {
  const source = sourceName.startsWith('web-') ? Readable.fromWeb(webSource() as never) : nodeSource();
  let sink: Writable;
  if (consumerName === 'null') sink = new Writable({ highWaterMark: 2 * CHUNK, write: (_c, _e, cb) => cb() });
  else if (consumerName === 'fs') sink = createWriteStream(outFile);
  else if (consumerName === 'filesink') sink = new FileSink(outFile);
  else if (consumerName === 'direct') sink = new DirectFileSink(outFile);
  else throw new Error(`unknown consumer ${consumerName}`);
  await pipeline(source, sink);
}

const seconds = Number(process.hrtime.bigint() - start) / 1e9;
h.disable();
clearInterval(sampler);
server?.stop();
process.stdout.write(
  JSON.stringify({ gbps: size / seconds / 1e9, p99ms: h.percentile(99) / 1e6, peakRssMiB: (peak - base) / 1024 ** 2 }) + '\n',
);
