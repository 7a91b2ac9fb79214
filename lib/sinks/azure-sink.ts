/**
 * Azure Blob sink: a block blob written with `@azure/storage-blob`. Bytes are cut into blocks of
 * `blockSize`, staged with `blockConcurrency` in flight (each with its Content-MD5, which the service
 * checks), and committed as one block list on `end()` with the whole blob's Content-MD5. Until the commit
 * nothing is visible (staged blocks stay uncommitted and the service discards them).
 * @module
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import type { BlobServiceClient, BlockBlobClient, StoragePipelineOptions, StorageRetryOptions } from '@azure/storage-blob';
import { invalidRange, invalidType } from '../errors.js';
import { parseSize, type SizeInput } from '../params.js';
import { backendError, OBJECT_WRITER_KEYS, ObjectWriter, type CommitInfo, type ObjectWriterOptions } from './object-writer.js';
import { clientChannel, provideAzure } from './backends.js';
import { azureSdk } from './sdk.js';
import { checkOptionsObject, checkSinkOptions, checkString, checkWriterOptions } from './sink-options.js';
import { optionKeys } from '../option-keys.js';
import { validateInteger, validateString } from '../validators.js';
import { AZURE_KEYS, formatAzureTarget } from '../backends/azure.js';
import * as self from './azure-sink.js';

/** Default block size: 8 MiB. */
export const DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024;
/** Largest block the service accepts: 4000 MiB. */
export const MAX_BLOCK_SIZE = 4000 * 1024 * 1024;
/** Most blocks in one committed block list: 50,000. */
export const MAX_BLOCKS = 50_000;
/** Default blocks staged at once: 4. */
export const DEFAULT_BLOCK_CONCURRENCY = 4;

/**
 * Validated block size and block concurrency (the defaults filled in), shared by {@link AzureBlobSink}
 * and the object-store put (`lib/object-store-put.ts`).
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` (`parameter` `blockSize` or `blockConcurrency`) for a value
 *   that is not a number (or, for the block size, a size string); RangeError `ERR_DGEN_INVALID_OPTION` for a block size outside 1 byte to
 *   4000 MiB or a block concurrency outside 1 to 50,000.
 */
export function parseBlockOptions(options: { blockSize?: SizeInput; blockConcurrency?: number }): {
  blockSize: number;
  blockConcurrency: number;
} {
  const sizes = `a whole number of bytes from 1 to ${MAX_BLOCK_SIZE} (4000 MiB), or a size string such as "8MiB"`;
  const blockSize =
    options.blockSize === undefined ? DEFAULT_BLOCK_SIZE : parseSize('blockSize', options.blockSize, 'ERR_DGEN_INVALID_OPTION');
  if (blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'blockSize', options.blockSize, sizes);
  }
  // More blocks in flight than a blob can have buys nothing and would hold that many block buffers.
  const blockConcurrency =
    options.blockConcurrency === undefined
      ? DEFAULT_BLOCK_CONCURRENCY
      : validateInteger('blockConcurrency', options.blockConcurrency, { min: 1, max: MAX_BLOCKS });
  return { blockSize, blockConcurrency };
}

/** How to reach Azure Blob storage. */
export interface AzureConnectionOptions {
  /** A storage connection string. Default: `AZURE_STORAGE_CONNECTION_STRING`. */
  connectionString?: string;
  /** Or a ready client (account URL + credential of your choice). */
  serviceClient?: BlobServiceClient;
  /**
   * Pipeline options for clients created from the connection string (retries, timeouts). Their
   * `retryOptions` are laid over {@link DEFAULT_AZURE_RETRY_OPTIONS}.
   */
  pipeline?: StoragePipelineOptions;
}

/**
 * Retries of clients this package creates, laid under the caller's `pipeline.retryOptions`: 5 tries,
 * exponential backoff from 500 ms (waits of 0, 0.5, 1.5 and 3.5 s), at most 30 s. The SDK's storage retry
 * policy (`@azure/storage-common`, StorageRetryPolicyV2) retries network errors by code or message
 * (`ECONNRESET`, which includes Node's `socket hang up`, `ECONNREFUSED`, `EPIPE`, `ETIMEDOUT`,
 * `ENOTFOUND`, `REQUEST_SEND_ERROR`, ...) and HTTP 500 and 503 (`ServerBusy`, `OperationTimedOut`); its
 * own defaults (4 tries, 4 s base) wait up to 16 s in all, which on a busy emulator or a throttled account
 * is too little for the number of tries and too long for the first wait. Other 5xx answers (502, 504) are
 * not retried by the SDK; `putObjects` retries such objects (`attempts`).
 */
export const DEFAULT_AZURE_RETRY_OPTIONS: Readonly<StorageRetryOptions> = {
  maxTries: 5,
  retryDelayInMs: 500,
  maxRetryDelayInMs: 30_000,
};

/**
 * Checks the connection options' types (see {@link AzureConnectionOptions}); the presence of a
 * connection is checked by {@link createBlobServiceClient}.
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` naming the option: a connection string that is not a
 *   non-empty string, a `serviceClient` that is not a BlobServiceClient, `pipeline` not an object.
 */
export function checkAzureConnectionOptions(options: AzureConnectionOptions): void {
  checkOptionsObject(options);
  const o = options as Record<string, unknown>;
  checkString(o, 'connectionString', 'a storage connection string');
  // By shape, not instanceof: the SDK has an ES module and a CommonJS build (sdk.ts), and a caller's client
  // may come from either.
  const client = o.serviceClient as { getContainerClient?: unknown } | null | undefined;
  if (client !== undefined && (client === null || typeof client !== 'object' || typeof client.getContainerClient !== 'function'))
    throw invalidType('ERR_DGEN_INVALID_OPTION', 'serviceClient', client, 'a BlobServiceClient');
  const pipeline = o.pipeline;
  if (pipeline !== undefined && (pipeline === null || typeof pipeline !== 'object')) {
    throw invalidType('ERR_DGEN_INVALID_OPTION', 'pipeline', pipeline, 'StoragePipelineOptions (an object)');
  }
}

/** Options of {@link AzureBlobSink}. */
export interface AzureBlobSinkOptions extends ObjectWriterOptions, AzureConnectionOptions {
  /** Block size in bytes (or a size string such as `'8MiB'`), 1 to 4000 MiB. Default 8 MiB. */
  blockSize?: SizeInput;
  /** Blocks staged at once. Default 4. */
  blockConcurrency?: number;
  /** Content-Type of the blob. Default `application/octet-stream`. */
  contentType?: string;
}

/** The keys of {@link AzureBlobSinkOptions}: any other key is an error. */
export const AZURE_BLOB_SINK_OPTION_KEYS = optionKeys<AzureBlobSinkOptions>({ ...OBJECT_WRITER_KEYS, ...AZURE_KEYS });

/**
 * A blob service client from the options or `AZURE_STORAGE_CONNECTION_STRING`, retrying transient
 * failures as {@link DEFAULT_AZURE_RETRY_OPTIONS} says (a given `serviceClient` is used as it is).
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` when neither is given, or for the reasons of
 *   {@link checkAzureConnectionOptions}; the SDK's Error for a malformed connection string; Error
 *   `ERR_DGEN_MISSING_DEPENDENCY` when `@azure/storage-blob` is not installed (loaded here on first use, sdk.ts).
 */
export function createBlobServiceClient(options: AzureConnectionOptions = {}): BlobServiceClient {
  checkAzureConnectionOptions(options);
  if (options.serviceClient) return options.serviceClient;
  const connectionString = options.connectionString ?? process.env.AZURE_STORAGE_CONNECTION_STRING;
  if (!connectionString) {
    throw invalidType('ERR_DGEN_INVALID_OPTION', 'connectionString', undefined, 'given, or AZURE_STORAGE_CONNECTION_STRING set');
  }
  const client = azureSdk().BlobServiceClient.fromConnectionString(connectionString, {
    ...options.pipeline,
    retryOptions: { ...DEFAULT_AZURE_RETRY_OPTIONS, ...options.pipeline?.retryOptions },
  });
  if (clientChannel.hasSubscribers) clientChannel.publish({ scheme: 'az', client });
  return client;
}

/** A sink (see {@link ObjectWriter}) for one block blob. */
export class AzureBlobSink extends ObjectWriter {
  readonly container: string;
  readonly blob: string;
  readonly #client: BlockBlobClient;
  readonly #blockSize: number;
  readonly #concurrency: number;
  readonly #contentType: string;
  readonly #blockPrefix = randomBytes(6).toString('hex');
  readonly #blockIds: string[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #md5: Hash = createHash('md5');
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #stageFailure: unknown;

  /**
   * Every option is checked before anything is created (no request is sent before the first write).
   * @throws TypeError `ERR_DGEN_INVALID_OPTION` for a missing container, blob or connection, a key the sink
   *   does not take (`parameter` the key; "did you mean ...?"), or an option of
   *   the wrong type (`signal` not an AbortSignal, `contentType` not a string, ...); RangeError
   *   `ERR_DGEN_INVALID_OPTION` for a block size or concurrency, or a `highWaterMark`, out of range;
   *   `ERR_DGEN_INVALID_COMPRESSION`.
   */
  constructor(container: string, blob: string, options: AzureBlobSinkOptions = {}) {
    validateString('container', container, 'a container name');
    validateString('blob', blob, 'a blob name');
    checkSinkOptions(options, AZURE_BLOB_SINK_OPTION_KEYS, 'AzureBlobSink options');
    checkWriterOptions(options as Record<string, unknown>);
    checkString(options as Record<string, unknown>, 'contentType', 'a media type such as application/octet-stream');
    const { blockSize, blockConcurrency: concurrency } = parseBlockOptions(options);
    const service = createBlobServiceClient(options);
    super(options);
    this.container = container;
    this.blob = blob;
    this.#client = service.getContainerClient(container).getBlockBlobClient(blob);
    this.#blockSize = blockSize;
    this.#concurrency = concurrency;
    this.#contentType = options.contentType ?? 'application/octet-stream';
  }

  /** `az://container/blob`. */
  get uri(): string {
    return formatAzureTarget({ scheme: 'az', container: this.container, blob: this.blob });
  }

  /** Stages one block; keeps at most `blockConcurrency` in flight (the wait is the backpressure). */
  async #stage(block: Buffer): Promise<void> {
    while (this.#inFlight.size >= this.#concurrency) await Promise.race(this.#inFlight);
    if (this.#stageFailure) throw this.#stageFailure;
    // Block ids: base64 of equal-length strings, unique to this upload.
    const id = Buffer.from(`${this.#blockPrefix}-${String(this.#blockIds.length).padStart(6, '0')}`).toString('base64');
    this.#blockIds.push(id);
    const md5 = createHash('md5').update(block).digest();
    const staged: Promise<void> = this.#client
      .stageBlock(id, block, block.length, { transactionalContentMD5: md5 })
      .then(
        () => {},
        (err: unknown) => {
          this.#stageFailure ??= backendError('Azure Blob', this.uri, 'staging a block of', err);
        },
      )
      .finally(() => this.#inFlight.delete(staged));
    this.#inFlight.add(staged);
  }

  async #stagePending(): Promise<void> {
    // One copy either way: the caller may reuse its buffers once write() calls back.
    const block = this.#pending.length === 1 ? Buffer.from(this.#pending[0]!) : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#stage(block);
  }

  protected async _writeBytes(chunk: Buffer): Promise<void> {
    if (this.#stageFailure) throw this.#stageFailure;
    this.#md5.update(chunk);
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, this.#blockSize - this.#pendingBytes);
      this.#pending.push(chunk.subarray(at, at + n));
      this.#pendingBytes += n;
      at += n;
      if (this.#pendingBytes === this.#blockSize) await this.#stagePending();
    }
  }

  protected async _commit(): Promise<CommitInfo> {
    if (this.#pendingBytes > 0) await this.#stagePending();
    await Promise.all(this.#inFlight);
    if (this.#stageFailure) throw this.#stageFailure;
    const md5 = this.#md5.digest();
    try {
      const out = await this.#client.commitBlockList(this.#blockIds, {
        blobHTTPHeaders: { blobContentType: this.#contentType, blobContentMD5: md5 },
      });
      return {
        uri: this.uri,
        backendChecksum: { algorithm: 'MD5', value: md5.toString('base64') },
        ...(out.etag && { etag: out.etag }),
        ...(out.versionId && { versionId: out.versionId }),
      };
    } catch (err) {
      throw backendError('Azure Blob', this.uri, 'committing the block list of', err);
    }
  }

  protected async _abort(): Promise<void> {
    // Nothing was committed: let the stages in flight settle; the service discards uncommitted blocks.
    this.#pending = [];
    await Promise.allSettled(this.#inFlight);
  }
}

// Registers this module as the Azure backend of createSink() (see backends.ts).
provideAzure(self);
