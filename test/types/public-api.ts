// Type tests of the published declarations (dist/index.d.ts): compiled by test/types.test.ts with tsc.
// Each `@ts-expect-error` line must fail to type-check: if a type loosens, tsc reports the directive as
// unused and the test fails.
import {
  createCompressor,
  createGenerator,
  createWebStream,
  DataSource,
  FileSink,
  putObjects,
  S3Sink,
  type CompressionSpec,
  type PutResult,
} from '../../dist/index.js';

createCompressor('zstd');
createCompressor('gzip:9');
createCompressor({ algorithm: 'zstd', level: 3 } satisfies Partial<CompressionSpec>);
// @ts-expect-error brotli is not a codec of this package
createCompressor('brotli');
// @ts-expect-error a compressor of nothing
createCompressor('none');

const source: NodeJS.ReadableStream = new DataSource({ size: '1MiB', dedupRatio: 2, compressRatio: 3, ratioCodec: 'zstd-1' });
// @ts-expect-error size is required
new DataSource({ dedupRatio: 2 });
const web: ReadableStream<Uint8Array> = createWebStream({ size: 4096 });
const bytes: Buffer = createGenerator({ size: 4096 }).generateSync();
new S3Sink('bucket', 'key', { partSize: '16MiB', partConcurrency: 4 });
// @ts-expect-error partConcurrency is a number
new S3Sink('bucket', 'key', { partConcurrency: '4' });
new FileSink('/tmp/x', { compression: { algorithm: 'gzip', level: 6 } });

async function put(): Promise<void> {
  const r: PutResult = await putObjects({ target: '/tmp/t', count: 1, size: '4KiB', duration: 1, rate: '1MiB' });
  const p99: number | undefined = r.latency?.commit.p99;
  const ratio: number = r.realizedDedupRatio;
  void [p99, ratio];
}
void [source, web, bytes, put];
