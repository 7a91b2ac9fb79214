/**
 * dgen-stream: synthetic data whose dedup ratio and compression ratio are what was asked for, as Node
 * and Web streams, with sinks that share one object-writer contract.
 * @packageDocumentation
 */
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
export { RATIO_CODECS, parseRatioCodec, layoutCompressRatio, maxCompressRatio } from './ratio-codec.js';
export { DataSource, createDataSource, parseChunking, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, type SourceOptions } from './source.js';
export { kChunkProgress, type ChunkProgress, type ChunkPoolStats } from './chunk-recycling.js';
export { createWebStream } from './web.js';
export {
  ObjectWriter,
  formatCrc32c,
  backendError,
  type ObjectWriteResult,
  type ObjectWriterOptions,
  type BackendChecksum,
  type CommitInfo,
} from './sinks/object-writer.js';
export { FileSink, createFileSink, type FileSinkOptions } from './sinks/file-sink.js';
export { DirectFileSink, DIRECT_IO_ALIGNMENT, type DirectFileSinkOptions } from './sinks/direct-file-sink.js';
export { S3Sink, createS3Client, MIN_PART_SIZE, DEFAULT_PART_SIZE, type S3SinkOptions, type S3ConnectionOptions } from './sinks/s3-sink.js';
export {
  AzureBlobSink,
  createBlobServiceClient,
  DEFAULT_BLOCK_SIZE,
  MAX_BLOCK_SIZE,
  type AzureBlobSinkOptions,
  type AzureConnectionOptions,
} from './sinks/azure-sink.js';
export { createSink, parseTarget, formatTarget, childTarget, type Target, type SinkOptions } from './sinks/uri.js';
export { putGeneratedObject, type ObjectStorePutOptions } from './object-store-put.js';
export { PartBufferPool, type PartBufferPoolOptions, type PartBufferPoolStats } from './part-buffers.js';
export { writeLocalObjects, type LocalObject, type LocalWriteOptions, type LocalWriteResult, type LocalWriteError } from './local-writer.js';
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
export {
  readManifest,
  loadManifest,
  parseManifest,
  checkManifest,
  readManifestRecords,
  checkRecord,
  isFailureRecord,
  ManifestWriter,
  mergeManifests,
  mergeShardManifests,
  findShardManifests,
  checkShardSet,
  storeManifest,
  storeManifestAt,
  manifestName,
  recordsName,
  recordsTargetFor,
  siblingTarget,
  manifestParameters,
  generatorFor,
  objectSpec,
  MANIFEST_NAME,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  SHARD_MANIFEST_PATTERN,
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
  putObjects,
  objectName,
  parseShard,
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
export { MAX_CONCURRENCY } from './limits.js';
export { LatencyRecorder, type LatencySummary } from './latency.js';
export { verifyObjects, MAX_EXTRAS_LISTED, type VerifyOptions, type VerifyReport, type VerifyObjectResult, type VerifyExtra } from './verify.js';
export { MANIFEST_SCHEMA, RECORD_SCHEMA, MAX_MANIFEST_BYTES, MAX_RECORD_LINE_BYTES, type ManifestError } from './manifest-schema.js';
export { parseSizeDistribution, type SizeDistribution } from './sizes.js';
export { isTransient, backoffMs } from './retry.js';
export { channels } from './observe.js';
export {
  parseSize,
  parseRatio,
  randomSeed,
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
export type { DgenErrorCode, DgenErrorFields, DgenRangeError, DgenTypeError } from './errors.js';
export { TOOL, VERSION } from './version.js';
export { analyze, totalSize, type AnalyzeInputsOptions } from './analyze/analyze.js';
export { Analyzer, DEFAULT_CHUNK_SIZES, type AnalyzeOptions, type AnalyzeReport } from './analyze/analyzer.js';
export { FastCdc, DEFAULT_CDC, type CdcParameters } from './analyze/fastcdc.js';
export { defaultCodecs, type Codec, type StreamCounter } from './analyze/codecs.js';
export { listInputs, openTarget, readText, type Input, type InputOptions } from './analyze/inputs.js';
export { topology, planWorkers, configureWorkers, workerInfo, bufferPoolStats, type NumaOption, type TopologyInfo, type WorkerPlacement } from './workers.js';
export * from './formats/index.js';
export {
  putFormatObjects,
  planFormatObjects,
  formatObjectFor,
  DLIO_WORKLOADS,
  type DlioWorkload,
  type PutFormatOptions,
  type PutFormatResult,
  type FormatObjectPlan,
} from './formats/put-format.js';
