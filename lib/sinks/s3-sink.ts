/**
 * S3 sink: streams an object to S3 or an S3-compatible server with `@aws-sdk/lib-storage`'s `Upload`
 * (multipart upload in parts of `partSize`, `partConcurrency` parts in flight; one PutObject when the
 * object is smaller than a part).
 *
 * Abort: the upload's body is failed, so `Upload` stops, waits for parts in flight and sends
 * AbortMultipartUpload; nothing is completed. Only `end()` completes the upload.
 * @module
 */
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { Upload } from '@aws-sdk/lib-storage';
import { invalidRange, invalidType } from '../errors.js';
import { parseSize, type SizeInput } from '../params.js';
import { binding } from '../native.js';
import {
  backendError,
  OBJECT_WRITER_KEYS,
  ObjectWriter,
  type CommitInfo,
  type ObjectWriteResult,
  type ObjectWriterOptions,
} from './object-writer.js';
import { clientChannel, provideS3 } from './backends.js';
import { s3Sdk, s3Storage } from './sdk.js';
import {
  checkBoolean,
  checkInstance,
  checkInteger,
  checkOneOf,
  checkOptionsObject,
  checkSinkOptions,
  checkString,
  checkWriterOptions,
} from './sink-options.js';
import { optionKeys } from '../option-keys.js';
import { validateInteger, validateString } from '../validators.js';
import { formatS3Target, S3_KEYS } from '../backends/s3.js';
import * as self from './s3-sink.js';

/** Smallest part S3 accepts (except the last): 5 MiB. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Default part size: 16 MiB. */
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
/** Largest part S3 accepts: 5 GiB. */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/** Most parts in one multipart upload: 10,000. */
export const MAX_PARTS = 10_000;
/** Default parts uploaded at once: 4. */
export const DEFAULT_PART_CONCURRENCY = 4;

/**
 * Validated part size and part concurrency (the defaults filled in), shared by {@link S3Sink} and the
 * object-store put (`lib/object-store-put.ts`).
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` (`parameter` `partSize` or `partConcurrency`) for a value
 *   that is not a number (or, for the part size, a size string); RangeError `ERR_DGEN_INVALID_OPTION` for a
 *   part size outside 5 MiB to 5 GiB or a part concurrency outside 1 to 10,000.
 */
export function parsePartOptions(options: { partSize?: SizeInput; partConcurrency?: number }): {
  partSize: number;
  partConcurrency: number;
} {
  const sizes = `a whole number of bytes from ${MIN_PART_SIZE} (5 MiB) to ${MAX_PART_SIZE} (5 GiB), or a size string such as "16MiB"`;
  const partSize =
    options.partSize === undefined ? DEFAULT_PART_SIZE : parseSize('partSize', options.partSize, 'ERR_DGEN_INVALID_OPTION');
  if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'partSize', options.partSize, sizes);
  }
  // More parts in flight than an upload can have buys nothing and would hold that many part buffers.
  const partConcurrency =
    options.partConcurrency === undefined
      ? DEFAULT_PART_CONCURRENCY
      : validateInteger('partConcurrency', options.partConcurrency, { min: 1, max: MAX_PARTS });
  return { partSize, partConcurrency };
}

/** How to reach S3; every field falls back to the standard AWS environment variables. */
export interface S3ConnectionOptions {
  /** Endpoint URL of an S3-compatible server. Default: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, else AWS. */
  endpoint?: string;
  /** Region. Default: `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`. */
  region?: string;
  /** Path-style addressing (`endpoint/bucket/key`). Default: true when a custom endpoint is set. */
  forcePathStyle?: boolean;
  /** Credentials. Default: the SDK's chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, profiles, ...). */
  credentials?: S3ClientConfig['credentials'];
  /**
   * Attempts per request, 1 to {@link MAX_ATTEMPTS}. Default {@link DEFAULT_MAX_ATTEMPTS}. The SDK's
   * standard retry mode retries with exponential backoff and full jitter (base 100 ms, cap 20 s) what it
   * classes as transient: network errors (`ECONNRESET`, which includes Node's `socket hang up`,
   * `ECONNREFUSED`, `EPIPE`, `ETIMEDOUT`, `EHOSTUNREACH`, `ENETUNREACH`, `ENOTFOUND`, `EAI_AGAIN`),
   * HTTP 500, 502, 503 and 504, throttling (429, `SlowDown`, `Throttling`, ...) and timeouts
   * (`@smithy/core`'s service-error-classification). Request bodies are buffers, so a retry resends them.
   */
  maxAttempts?: number;
}

/** Default attempts per S3 request: 5 (4 retries; the SDK's own default is 3). */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** Most attempts per S3 request a caller may ask for: 100. */
export const MAX_ATTEMPTS = 100;

function isHttpUrl(text: string): boolean {
  try {
    return /^https?:$/.test(new URL(text).protocol);
  } catch {
    return false;
  }
}

/**
 * Checks the connection options' types (see {@link S3ConnectionOptions}).
 * @throws TypeError/RangeError `ERR_DGEN_INVALID_OPTION` naming the option: an endpoint that is not an
 *   http(s) URL, an empty region, a `forcePathStyle` that is not a boolean, credentials that are neither an
 *   object nor a provider function, `maxAttempts` outside 1 to 100.
 */
export function checkS3ConnectionOptions(options: S3ConnectionOptions): void {
  checkOptionsObject(options);
  const o = options as Record<string, unknown>;
  checkString(o, 'endpoint', 'an http:// or https:// URL');
  if (options.endpoint !== undefined && !isHttpUrl(options.endpoint)) {
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'endpoint', options.endpoint, 'an http:// or https:// URL');
  }
  checkString(o, 'region', 'a region name such as us-east-1');
  checkBoolean(o, 'forcePathStyle');
  const credentials = o.credentials;
  if (
    credentials !== undefined &&
    (credentials === null || (typeof credentials !== 'object' && typeof credentials !== 'function'))
  ) {
    throw invalidType(
      'ERR_DGEN_INVALID_OPTION',
      'credentials',
      '(hidden)',
      'an object { accessKeyId, secretAccessKey } or a credential provider',
    );
  }
  checkInteger(o, 'maxAttempts', 1, MAX_ATTEMPTS);
}

/** Options of {@link S3Sink}. */
export interface S3SinkOptions extends ObjectWriterOptions, S3ConnectionOptions {
  /** Use this client instead of creating one from the connection options. */
  client?: S3Client;
  /** Part size in bytes (or a size string such as `'16MiB'`), 5 MiB to 5 GiB. Default 16 MiB. */
  partSize?: SizeInput;
  /** Parts uploaded at once. Default 4. */
  partConcurrency?: number;
  /** Checksum S3 computes and checks per part: `CRC32C` (default) or `none`. */
  checksumAlgorithm?: 'CRC32C' | 'none';
  /** Content-Type of the object. Default `application/octet-stream`. */
  contentType?: string;
}

/** The keys of {@link S3SinkOptions}: any other key is an error. */
export const S3_SINK_OPTION_KEYS = optionKeys<S3SinkOptions>({ ...OBJECT_WRITER_KEYS, ...S3_KEYS });

/**
 * CRC-32C for the SDK's flexible checksums (the `Checksum` interface of `@smithy/types`), computed by the
 * addon (ISA-L where it was built with it) instead of the SDK's byte-at-a-time JavaScript table, which
 * cost about 10 CPU seconds per GiB here. The digest is the CRC's 4 bytes, big-endian, as S3 expects.
 */
export class Crc32cChecksum {
  readonly digestLength = 4;
  #crc = 0;
  update(data: Uint8Array): void {
    this.#crc = binding.crc32c(data, this.#crc);
  }
  async digest(): Promise<Uint8Array> {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, this.#crc >>> 0);
    return out;
  }
  reset(): void {
    this.#crc = 0;
  }
}

/**
 * An S3 client for the options and the environment. Requests carry checksums only where the
 * operation requires them (`requestChecksumCalculation: 'WHEN_REQUIRED'`), except the CRC-32C the
 * sink asks for: S3-compatible servers such as s3rver store aws-chunked framing otherwise. That CRC-32C
 * is computed by {@link Crc32cChecksum}. Transient failures are retried by the SDK (standard retry mode,
 * `maxAttempts`; see {@link S3ConnectionOptions.maxAttempts}).
 * The AWS SDK is loaded here, on first use (sdk.ts).
 * @throws the errors of {@link checkS3ConnectionOptions}; Error `ERR_DGEN_MISSING_DEPENDENCY` when
 *   `@aws-sdk/client-s3` is not installed.
 */
export function createS3Client(options: S3ConnectionOptions = {}): S3Client {
  checkS3ConnectionOptions(options);
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const client = new (s3Sdk().S3Client)({
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint && { endpoint }),
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
    ...(options.credentials && { credentials: options.credentials }),
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: 'standard',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    checksumAlgorithms: { CRC32C: Crc32cChecksum },
  });
  if (clientChannel.hasSubscribers) clientChannel.publish({ scheme: 's3', client });
  return client;
}

/** A sink (see {@link ObjectWriter}) for one S3 object. */
export class S3Sink extends ObjectWriter {
  readonly bucket: string;
  readonly key: string;
  readonly #client: S3Client;
  readonly #ownsClient: boolean;
  readonly #options: S3SinkOptions & { partSize: number; partConcurrency: number };
  #body: PassThrough | undefined;
  #done: Promise<Awaited<ReturnType<Upload['done']>>> | undefined;
  /** A failed abort after a plain destroy(), reported by result(). */
  #cleanupFailure: Error | undefined;

  /**
   * Every option is checked before anything is created (no client, no request).
   * @throws TypeError `ERR_DGEN_INVALID_OPTION` for a missing bucket or key, a key S3Sink does not take
   *   (`parameter` the key; "did you mean ...?"), or an option of the wrong type (`client` not an S3Client, `signal` not an AbortSignal, `contentType` not a string, ...);
   *   RangeError `ERR_DGEN_INVALID_OPTION` for a part size outside 5 MiB to 5 GiB, a part concurrency
   *   outside 1 to 10,000, a `checksumAlgorithm` other than `CRC32C` or `none`, a `highWaterMark` out of
   *   range; the errors of {@link checkS3ConnectionOptions}; `ERR_DGEN_INVALID_COMPRESSION`.
   */
  constructor(bucket: string, key: string, options: S3SinkOptions = {}) {
    validateString('bucket', bucket, 'a bucket name');
    validateString('key', key, 'an object key');
    checkS3SinkOptions(options);
    const { partSize, partConcurrency } = parsePartOptions(options);
    super(options);
    this.bucket = bucket;
    this.key = key;
    this.#options = { ...options, partSize, partConcurrency };
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? createS3Client(options);
  }

  /** `s3://bucket/key`. */
  get uri(): string {
    return formatS3Target({ scheme: 's3', bucket: this.bucket, key: this.key });
  }

  protected override async _open(): Promise<void> {
    // The body buffers up to one part, so the part being cut and the parts in flight overlap the writes.
    const body = new PassThrough({ highWaterMark: this.#options.partSize });
    const checksum = this.#options.checksumAlgorithm ?? 'CRC32C';
    const upload = new (s3Storage().Upload)({
      client: this.#client,
      partSize: this.#options.partSize,
      queueSize: this.#options.partConcurrency,
      leavePartsOnError: false,
      params: {
        Bucket: this.bucket,
        Key: this.key,
        Body: body,
        ContentType: this.#options.contentType ?? 'application/octet-stream',
        ...(checksum === 'CRC32C' && { ChecksumAlgorithm: 'CRC32C' as const }),
      },
    });
    this.#body = body;
    this.#done = upload.done();
    // A failure before end() surfaces on the next write, or as the sink's error.
    this.#done.catch((err: unknown) => {
      if (!this.destroyed && !this.writableFinished) this.destroy(backendError('S3', this.uri, 'upload of', err));
    });
  }

  protected async _writeBytes(chunk: Buffer): Promise<void> {
    const body = this.#body!;
    try {
      if (!body.write(chunk)) await once(body, 'drain');
    } catch (err) {
      // The upload stopped reading its body (Upload ends its iteration on a failure, which destroys the
      // body with a bare AbortError): report the upload's own failure instead.
      const failure = await this.#done!.then(
        () => err,
        (e: unknown) => e,
      );
      throw backendError('S3', this.uri, 'upload of', failure);
    }
  }

  protected async _commit(): Promise<CommitInfo> {
    this.#body!.end();
    try {
      const out = await this.#done!;
      const checksum = out.ChecksumCRC32C;
      return {
        uri: this.uri,
        ...(checksum && { backendChecksum: { algorithm: 'CRC32C', value: checksum } }),
        ...(out.ETag && { etag: out.ETag }),
        ...(out.VersionId && { versionId: out.VersionId }),
      };
    } catch (err) {
      throw backendError('S3', this.uri, 'upload of', err);
    } finally {
      if (this.#ownsClient) this.#client.destroy();
    }
  }

  protected async _abort(reason: Error | null): Promise<void> {
    const body = this.#body;
    if (!body) {
      // Nothing was sent: no multipart upload to abort, but a client this sink made must still go.
      if (this.#ownsClient) this.#client.destroy();
      return;
    }
    // Failing the body (never ending it) makes Upload stop reading, wait for parts in flight, and send
    // AbortMultipartUpload; done() settles after that. Ending it instead would complete a short object.
    body.destroy(reason ?? Object.assign(new Error('upload aborted'), { name: 'AbortError' }));
    try {
      await this.#done;
    } catch (err) {
      // Expected: the upload failed because its body did, or had already failed (the reason wraps that
      // failure). Anything else is a failure of the abort itself (AbortMultipartUpload refused or lost).
      const expected = err === reason || err === reason?.cause || (err instanceof Error && err.name === 'AbortError');
      if (expected) return;
      const failure = backendError('S3', this.uri, 'abort of the upload of', err);
      // With a reason, the base class attaches the failure to it as `abortError`. A plain destroy() asked
      // for no 'error' event (a script without a listener would crash on one): the failure is kept for
      // result() instead.
      if (reason) throw failure;
      this.#cleanupFailure = failure;
    } finally {
      if (this.#ownsClient) this.#client.destroy();
    }
  }

  /**
   * As {@link ObjectWriter.result}; after a plain `destroy()` whose AbortMultipartUpload failed, it rejects
   * with that failure (`ERR_DGEN_BACKEND`, "abort of the upload of s3://... failed") instead of
   * `ERR_STREAM_PREMATURE_CLOSE`: the incomplete upload may still hold its parts.
   */
  override result(): Promise<ObjectWriteResult> {
    return super.result().catch((err: unknown) => {
      throw this.#cleanupFailure ?? err;
    });
  }
}

/**
 * Checks the types of the options {@link S3Sink} reads beyond the part options.
 * @throws TypeError/RangeError `ERR_DGEN_INVALID_OPTION` naming the option.
 */
function checkS3SinkOptions(options: S3SinkOptions): void {
  checkSinkOptions(options, S3_SINK_OPTION_KEYS, 'S3Sink options');
  const o = options as Record<string, unknown>;
  checkWriterOptions(o);
  if (o.client !== undefined) checkInstance(o, 'client', s3Sdk().S3Client, 'an S3Client');
  if (options.client === undefined) checkS3ConnectionOptions(options);
  checkOneOf(o, 'checksumAlgorithm', ['CRC32C', 'none']);
  checkString(o, 'contentType', 'a media type such as application/octet-stream');
}

// Registers this module as the S3 backend of createSink() (see backends.ts).
provideS3(self);
