/**
 * dgen-stream: synthetic data whose dedup ratio and compression ratio are what was asked for, as Node
 * and Web streams, with sinks that share one object-writer contract.
 *
 * The public surface, curated: every name here is a semver promise and is listed in the README's "API"
 * section. Helpers the modules share among themselves (backendError, isTransient, backoffMs, readText,
 * openTarget, storeManifestAt, parseShard, ...) are not re-exported; tests that need one import it from
 * its module. test/fixtures/types/public-api.ts type-checks this surface from dist/index.d.ts.
 * @packageDocumentation
 */

// Generation: the generator, its kernels and ratio codecs.
export {
  DataGenerator,
  createGenerator,
  availableKernels,
  SYNC_FILL_LIMIT,
  DEFAULT_WRITE_CHUNK,
  type ObjectSpec,
  type WriteToFdOptions,
  type FdWriteError,
} from './generator.js';
export { RATIO_CODECS, maxCompressRatio } from './ratio-codec.js';
export {
  parseSize,
  SECTOR,
  DEFAULT_DEDUP_UNIT,
  MAX_DEDUP_UNIT,
  MAX_COMPRESS_RATIO,
  MAX_SIZE,
  type SizeInput,
  type DataOptions,
  type GeneratorOptions,
  type GeneratorConfig,
} from './params.js';
export { parseSizeDistribution, type SizeDistribution } from './sizes.js';

// Sources: Node and Web streams.
export { DataSource, createDataSource, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, type SourceOptions } from './source.js';
export { kChunkProgress, type ChunkProgress, type ChunkPoolStats } from './chunk-recycling.js';
export { createWebStream } from './web.js';

// Sinks: one object-writer contract for files, O_DIRECT files, S3 and Azure block blobs.
export {
  ObjectWriter,
  formatCrc32c,
  type ObjectWriteResult,
  type ObjectWriterOptions,
  type BackendChecksum,
  type CommitInfo,
} from './sinks/object-writer.js';
export { FileSink, createFileSink, type FileSinkOptions } from './sinks/file-sink.js';
export { DirectFileSink, DIRECT_IO_ALIGNMENT, type DirectFileSinkOptions } from './sinks/direct-file-sink.js';
export {
  S3Sink,
  createS3Client,
  MIN_PART_SIZE,
  DEFAULT_PART_SIZE,
  type S3SinkOptions,
  type S3ConnectionOptions,
} from './sinks/s3-sink.js';
export {
  AzureBlobSink,
  createBlobServiceClient,
  DEFAULT_BLOCK_SIZE,
  MAX_BLOCK_SIZE,
  type AzureBlobSinkOptions,
  type AzureConnectionOptions,
} from './sinks/azure-sink.js';
export { createSink, parseTarget, formatTarget, childTarget, type Target, type SinkOptions } from './backends/index.js';

// Compression.
export {
  createCompressor,
  createDecompressor,
  parseCompression,
  CodecTransform,
  COMPRESSION_EXTENSIONS,
  zstdImplementation,
  type CompressionAlgorithm,
  type CompressorName,
  type CompressionSpec,
} from './compression.js';

// Put: many objects to a target with a manifest; one object to an object store; local files natively.
export {
  putObjects,
  objectName,
  DEFAULT_PUT_SIZE,
  MAX_FAILURES_KEPT,
  type PutOptions,
  type PutProgress,
  type PutResult,
  type PutLatency,
  type Shard,
  type PutFailure,
  type CommittedObject,
  type ManifestNotStoredError,
} from './put.js';
export { putGeneratedObject, type ObjectStorePutOptions } from './object-store-put.js';
export { PartBufferPool, type PartBufferPoolOptions, type PartBufferPoolStats } from './part-buffers.js';
export {
  writeLocalObjects,
  type LocalObject,
  type LocalWriteOptions,
  type LocalWriteResult,
  type LocalWriteError,
  type LocalSegment,
  type LocalCrc32Field,
} from './local-writer.js';
export { MAX_CONCURRENCY } from './limits.js';
export type { LatencySummary } from './latency.js';

// Manifests: reading, writing, merging shards.
export {
  readManifest,
  loadManifest,
  readManifestRecords,
  isFailureRecord,
  ManifestWriter,
  mergeShardManifests,
  findShardManifests,
  checkShardSet,
  generatorFor,
  MANIFEST_NAME,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestV1,
  type ManifestV2,
  type ManifestParameters,
  type ManifestSummary,
  type ManifestRecord,
  type ManifestFailureRecord,
  type ManifestLine,
  type ManifestObject,
  type ManifestFailure,
  type ManifestWriterOptions,
  type MergeOptions,
  type MergeResult,
  type RecordIdentity,
} from './manifest.js';
export {
  MANIFEST_SCHEMA,
  RECORD_SCHEMA,
  MAX_MANIFEST_BYTES,
  MAX_RECORD_LINE_BYTES,
  type ManifestError,
} from './manifest-schema.js';

// Verify.
export {
  verifyObjects,
  MAX_EXTRAS_LISTED,
  type VerifyOptions,
  type VerifyReport,
  type VerifyObjectResult,
  type VerifyExtra,
} from './verify.js';
export type { UnsupportedManifestError } from './verify-formats.js';

// Analyze: dedup and compression ratios of existing data.
export { analyze, type AnalyzeInputsOptions } from './analyze/analyze.js';
export { Analyzer, DEFAULT_CHUNK_SIZES, type AnalyzeOptions, type AnalyzeReport } from './analyze/analyzer.js';
export { FastCdc, DEFAULT_CDC, type CdcParameters } from './analyze/fastcdc.js';
export { defaultCodecs, type Codec, type StreamCounter } from './analyze/codecs.js';
export { listInputs, type Input, type InputOptions } from './analyze/inputs.js';

// ML file formats.
export {
  FILE_FORMATS,
  FORMAT_EXTENSIONS,
  parseFormat,
  createFormatFile,
  createFormatStream,
  DTYPES,
  createNpzFile,
  NPY_MAX_HEADER_TEXT,
  createHdf5File,
  HDF5_MAX_DATASET,
  createParquetFile,
  createTfrecordFile,
  createSafetensorsFile,
  safetensorsIndex,
  SAFETENSORS_MAX_HEADER,
  type FileFormat,
  type FormatOptionsMap,
  type FormatFileMap,
  type Dtype,
  type FormatDataOptions,
  type FormatError,
  type FormatFile,
  type FileSegments,
  type NpzFile,
  type NpzLayout,
  type NpzOptions,
  type Hdf5File,
  type Hdf5Options,
  type ParquetFile,
  type ParquetOptions,
  type TfrecordFile,
  type TfrecordOptions,
  type TfrecordRecord,
  type SafetensorsFile,
  type SafetensorsOptions,
  type TensorLayout,
  type TensorSpec,
} from './formats/index.js';
export {
  putFormatObjects,
  planFormatObjects,
  formatObjectFor,
  DLIO_WORKLOADS,
  type DlioWorkload,
  type PutFormatOptions,
  type PutFormatResult,
  type FormatObjectPlan,
  type FormatPlan,
  type FormatManifest,
  type PutFormatProgress,
} from './formats/put-format.js';

// Workers: the addon's thread pool, NUMA placement, the buffer pool.
export {
  topology,
  planWorkers,
  configureWorkers,
  workerInfo,
  bufferPoolStats,
  type NumaOption,
  type TopologyInfo,
  type WorkerPlacement,
} from './workers.js';

// Errors, observability, version.
export {
  ERROR_CODES,
  type DgenErrorCode,
  type DgenErrorFields,
  type DgenRangeError,
  type DgenTypeError,
  type DgenRuntimeError,
} from './errors.js';
export { channels } from './observe.js';
export { VERSION } from './version.js';
