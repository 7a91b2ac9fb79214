/**
 * The options of a bulk put checked at the boundary, before anything is created: which keys exist, the
 * run's own options (counts, retries, callbacks, switches), every backend option given (whatever the
 * target: `partSize: 5` is a mistake on a local target too), and which options go on to the sinks (a
 * named list, so that a new put option never leaks into them). The checks are the shared validators
 * (validators.ts, params.ts) and each backend's own (s3-sink.ts, azure-sink.ts).
 * @module
 */
import { invalidRange, invalidType } from './errors.js';
import { checkOptionKeys, optionKeys, type OptionKeys } from './option-keys.js';
import { parseSize } from './params.js';
import { azureBackend, loadBackend, s3Backend } from './sinks/backends.js';
import type { SinkOptions } from './backends/index.js';
import { FILE_KEYS } from './sinks/file-sink.js';
import { S3_KEYS } from './backends/s3.js';
import { AZURE_KEYS } from './backends/azure.js';
import {
  optionalBoolean,
  validateFunction,
  validateInteger,
  validateOneOf,
  validateSignal,
  validateString,
  type IntegerBounds,
} from './validators.js';
import type { PutOptions } from './put.js';

/** The sink options a put hands on (to its sinks, the object-store put, the manifest and its records):
 * every sink option except `signal` (the run's own) and `compression` (passed as parsed). */
export type PutSinkOptions = Omit<SinkOptions, 'signal' | 'compression'>;

/** The keys of {@link PutSinkOptions}, compile-time checked against it. */
export const PUT_SINK_OPTION_KEYS = optionKeys<PutSinkOptions>({
  highWaterMark: true,
  ...FILE_KEYS,
  ...S3_KEYS,
  ...AZURE_KEYS,
});

/** Every key of {@link PutOptions}: its own (compile-time checked against it) and the sink options it hands on
 * ({@link PUT_SINK_OPTION_KEYS}); unknown keys are an error. */
export const PUT_OPTION_KEYS: OptionKeys = new Set([
  ...optionKeys<Omit<PutOptions, keyof PutSinkOptions>>({
    target: true,
    count: true,
    size: true,
    dedupScope: true,
    concurrency: true,
    chunkSize: true,
    nativeWrites: true,
    attempts: true,
    retryBaseMs: true,
    failFast: true,
    shard: true,
    nameTemplate: true,
    manifest: true,
    signal: true,
    onProgress: true,
    overwrite: true,
    resume: true,
    duration: true,
    rate: true,
    dedupRatio: true,
    compressRatio: true,
    ratioCodec: true,
    dedupUnit: true,
    seed: true,
    compression: true,
  }),
  ...PUT_SINK_OPTION_KEYS,
]);

/** Options only S3 reads: given, they are checked by the S3 backend (loaded for it) whatever the target. */
const S3_ONLY_KEYS = Object.keys(S3_KEYS).filter((k) => !(k in AZURE_KEYS));
/** Options only Azure reads: given, they are checked by the Azure backend whatever the target. */
const AZURE_ONLY_KEYS = Object.keys(AZURE_KEYS).filter((k) => !(k in S3_KEYS));

/** Largest `highWaterMark` a sink takes: 2 GiB - 1 (a Buffer's safe size everywhere). */
const MAX_HIGH_WATER_MARK = 2 ** 31 - 1;

/** The sink options of a put's options: the keys of {@link PUT_SINK_OPTION_KEYS} that are set, no other. */
export function sinkOptionsOf(options: PutOptions): PutSinkOptions {
  const out: Record<string, unknown> = {};
  for (const key of PUT_SINK_OPTION_KEYS) {
    const value = (options as unknown as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out as PutSinkOptions;
}

/**
 * A whole-number option that may come as a decimal string (the CLI's values, `count: '1000'`), checked by
 * {@link validateInteger}; `undefined` gives `fallback`.
 * @throws TypeError/RangeError `ERR_DGEN_INVALID_OPTION` naming the option.
 */
export function wholeOption(parameter: string, value: unknown, fallback: number, bounds: IntegerBounds): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  try {
    return validateInteger(parameter, n, bounds);
  } catch (err) {
    // The message shows the value as given ("1.5" as typed, not 1.5).
    throw Object.assign(err as Error, { value });
  }
}

/**
 * Checks the options argument, its keys, and every option that is not a data parameter (those are
 * parseDataOptions', the sizes', the shard's and the template's), backend options included, before
 * anything is created. Loads the S3 or Azure backend when one of its options is given.
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` (`parameter` `options`) for options that are not an object;
 *   naming an unknown key (with the closest known one); TypeError/RangeError `ERR_DGEN_INVALID_OPTION`
 *   naming `signal`, `onProgress`, `failFast`, `fsync`, `nativeWrites`, `overwrite`, `resume`,
 *   `retryBaseMs` (a whole number of ms >= 0), `manifest`, `contentType`, `highWaterMark`, or a backend
 *   option (`partSize`, `partConcurrency`, `checksumAlgorithm`, `endpoint`, `region`, `forcePathStyle`,
 *   `credentials`, `maxAttempts`, `blockSize`, `blockConcurrency`, `connectionString`, `serviceClient`,
 *   `pipeline`) as its backend checks it.
 */
export async function checkPutOptions(options: PutOptions): Promise<void> {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw invalidType('ERR_DGEN_INVALID_OPTION', 'options', options, 'an object');
  checkOptionKeys(options, PUT_OPTION_KEYS, 'putObjects options');
  const o = options as unknown as Record<string, unknown>;
  validateSignal(o.signal);
  if (o.onProgress !== undefined) validateFunction('onProgress', o.onProgress);
  for (const name of ['failFast', 'fsync', 'nativeWrites', 'overwrite', 'resume', 'forcePathStyle'] as const)
    optionalBoolean(name, o[name], false);
  if (o.retryBaseMs !== undefined) validateInteger('retryBaseMs', o.retryBaseMs, { unit: ' ms' });
  if (o.manifest !== undefined) validateString('manifest', o.manifest, 'a path or URI');
  if (o.contentType !== undefined) validateString('contentType', o.contentType, 'a media type such as application/octet-stream');
  if (o.highWaterMark !== undefined) {
    const n = parseSize('highWaterMark', o.highWaterMark, 'ERR_DGEN_INVALID_OPTION');
    if (n < 1 || n > MAX_HIGH_WATER_MARK)
      throw invalidRange(
        'ERR_DGEN_INVALID_OPTION',
        'highWaterMark',
        o.highWaterMark,
        `a whole number of bytes from 1 to ${MAX_HIGH_WATER_MARK}, or a size string such as "8MiB"`,
      );
  }
  if (S3_ONLY_KEYS.some((k) => o[k] !== undefined)) {
    await loadBackend('s3');
    const s3 = s3Backend();
    s3.checkS3ConnectionOptions(options);
    s3.parsePartOptions(options);
    if (o.checksumAlgorithm !== undefined) validateOneOf('checksumAlgorithm', o.checksumAlgorithm, ['CRC32C', 'none']);
    if (
      o.client !== undefined &&
      (o.client === null || typeof o.client !== 'object' || typeof (o.client as { send?: unknown }).send !== 'function')
    ) {
      throw invalidType('ERR_DGEN_INVALID_OPTION', 'client', o.client, 'an S3Client');
    }
  }
  if (AZURE_ONLY_KEYS.some((k) => o[k] !== undefined)) {
    await loadBackend('az');
    const azure = azureBackend();
    azure.checkAzureConnectionOptions(options);
    azure.parseBlockOptions(options);
  }
}
