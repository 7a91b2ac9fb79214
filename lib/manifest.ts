/**
 * Manifests: everything needed to regenerate and check the objects of a run, in memory that does not
 * grow with the number of objects.
 *
 * Format `dgen-manifest` version 2: a small JSON document (the run's parameters and a summary) and a side
 * file of records, one NDJSON line per object, streamed while the run goes.
 *
 * `dgen-manifest.json`:
 * ```json
 * { "format": "dgen-manifest", "version": 2, "tool": "dgen-stream 0.1.0", "createdAt": "2026-11-22T04:00:00.000Z",
 *   "target": "file:///out", "seed": "1234", "count": 4, "size": "268435456", "nameTemplate": "obj-{index}.bin{ext}",
 *   "dedupRatio": 2, "compressRatio": 3, "dedupUnit": 4096, "dedupScope": "object",
 *   "compression": { "algorithm": "none", "level": 0 }, "seconds": 2.1,
 *   "records": "dgen-manifest.records.ndjson", "committed": 3, "failed": 1, "bytes": 805306368 }
 * ```
 * `dgen-manifest.records.ndjson` (beside the manifest; in the order objects completed, not by index):
 * ```
 * {"objectId":"0","name":"obj-000000.bin","size":268435456,"crc32c":"1a2b3c4d"}
 * {"objectId":"2","name":"obj-000002.bin","failure":{"attempts":3,"error":"S3: upload of ... failed: ...","code":"ERR_DGEN_BACKEND"}}
 * ```
 * - `seed` and `objectId` are decimal strings (64-bit); sizes are bytes; `size` is the run's size
 *   specification (a byte count or a distribution, see sizes.ts); `crc32c` is the CRC-32C of the
 *   object's uncompressed bytes as 8 hex digits.
 * - `records` is the side file's name, in the manifest's own directory (or key prefix); `committed` and
 *   `failed` count its lines of each kind; `bytes` sums the committed objects' (uncompressed) sizes,
 *   `compressedBytes` (compressed runs) their stored sizes. `interrupted: true` marks a run that was
 *   stopped (aborted, or `failFast`) before every object of its plan was attempted.
 * - Dataset dedup scope adds `datasetUnits` (units in the whole data set) and per record `unitOffset`.
 * - Compressed runs add per record `compressedSize`; S3 and Azure objects add `etag` and
 *   `backendChecksum` where the backend gave them.
 * - A shard's manifest (`dgen-manifest.shard-I-of-N.json`, records
 *   `dgen-manifest.shard-I-of-N.records.ndjson`) adds `shard: { index, count }` and records only its
 *   objects; {@link mergeShardManifests} joins the shards into one.
 *
 * Version 1 (written by earlier versions, still read everywhere): the same fixed part without the
 * summary, and the records inline as `objects: [{ name, uri, objectId, size, crc32c, ... }]` and
 * `failures: [{ name, uri, objectId, attempts, error, code? }]`. {@link readManifestRecords} reads both.
 * @module
 */
import { mkdir, opendir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DataGenerator, type ObjectSpec } from './generator.js';
import { invalidRange, invalidType } from './errors.js';
import { optionalInteger } from './validators.js';
import type { CompressionSpec } from './compression.js';
import type { BackendChecksum, ObjectWriter } from './sinks/object-writer.js';
import { childTarget, createSink, formatTarget, parseTarget, type SinkOptions, type Target } from './backends/index.js';
import { listInputs, type InputOptions } from './analyze/inputs.js';
import { loadBackend } from './sinks/backends.js';
import { COMPRESSION_EXTENSIONS } from './compression.js';
import { invalidManifest, validateManifestDocument, validateRecord, type RecordPlace } from './manifest-schema.js';
import { boundedLines, openRecords, readManifestText } from './manifest-input.js';
import { ObjectNames, SparseBitmap } from './manifest-names.js';

export const MANIFEST_FORMAT = 'dgen-manifest';
/** The version this package writes (it reads 1 and 2). */
export const MANIFEST_VERSION = 2;
/** File name of the manifest a bulk put writes beside its objects. */
export const MANIFEST_NAME = 'dgen-manifest.json';
/** Pattern of a shard manifest's file name. */
export const SHARD_MANIFEST_PATTERN = /^dgen-manifest\.shard-\d+-of-\d+\.json$/;

/** The manifest's file name: `dgen-manifest.json`, or `dgen-manifest.shard-0003-of-0010.json` for a shard. */
export function manifestName(shard?: { index: number; count: number }): string {
  if (!shard) return MANIFEST_NAME;
  const w = Math.max(4, String(shard.count).length);
  return `dgen-manifest.shard-${String(shard.index).padStart(w, '0')}-of-${String(shard.count).padStart(w, '0')}.json`;
}

/** The records file's name for a manifest file name: `x.json` -> `x.records.ndjson` (other names get
 * `.records.ndjson` appended). */
export function recordsName(manifestFile: string): string {
  return `${manifestFile.endsWith('.json') ? manifestFile.slice(0, -5) : manifestFile}.records.ndjson`;
}

/** The last path segment of a target (file name, or the key's last segment). */
function baseName(target: Target): string {
  const path = target.scheme === 's3' ? target.key : target.scheme === 'az' ? target.blob : target.path;
  return path.slice(
    Math.max(path.lastIndexOf('/'), target.scheme === 'file' || target.scheme === 'direct' ? path.lastIndexOf('\\') : -1) + 1,
  );
}

/** `name` in the same directory (or key prefix) as `target`. */
export function siblingTarget(target: Target, name: string): Target {
  switch (target.scheme) {
    case 'file':
    case 'direct':
      return { ...target, path: join(dirname(target.path), name) };
    case 's3':
      return { ...target, key: target.key.slice(0, target.key.lastIndexOf('/') + 1) + name };
    case 'az':
      return { ...target, blob: target.blob.slice(0, target.blob.lastIndexOf('/') + 1) + name };
  }
}

/** Where the records of a manifest stored at `manifestLocation` go: beside it, named by {@link recordsName}. */
export function recordsTargetFor(manifestLocation: string | Target): Target {
  const where = typeof manifestLocation === 'string' ? parseTarget(manifestLocation) : manifestLocation;
  return siblingTarget(where, recordsName(baseName(where)));
}

/** One committed object: a line of the records file. */
export interface ManifestRecord {
  /** Object identity (decimal string), in [0, count). */
  objectId: string;
  /** Name under the target (file name or object key suffix); relative, without `..` segments. */
  name: string;
  /** Bytes (uncompressed). */
  size: number;
  /** CRC-32C of the object's uncompressed bytes, 8 hex digits. */
  crc32c: string;
  /** First dedup unit of the object in the data set (dataset scope). */
  unitOffset?: number;
  /** Bytes stored, when the run compressed its objects. */
  compressedSize?: number;
  /** Backend version tag, where the backend gave one. */
  etag?: string;
  /** The backend's checksum of the stored bytes, where it has one. */
  backendChecksum?: BackendChecksum;
}

/** One object a run could not write: a line of the records file. */
export interface ManifestFailureRecord {
  objectId: string;
  name: string;
  failure: {
    /** Attempts made (>= 1). */
    attempts: number;
    /** The last attempt's error message. */
    error: string;
    /** The last attempt's error code, if it had one. */
    code?: string;
  };
}

/** A line of a records file: a committed object, or a failure (it has `failure`). */
export type ManifestLine = ManifestRecord | ManifestFailureRecord;

/** Whether a records line is a failure. */
export function isFailureRecord(line: ManifestLine): line is ManifestFailureRecord {
  return 'failure' in line;
}

/** One object of a version 1 manifest (a record with its full URI). */
export interface ManifestObject extends ManifestRecord {
  /** Full URI of the object. */
  uri: string;
}

/** An object a run could not write, flat (version 1 manifests, and {@link PutResult}'s `failures`). */
export interface ManifestFailure {
  name: string;
  uri: string;
  objectId: string;
  attempts: number;
  error: string;
  code?: string;
}

/** What every manifest version holds: the run's parameters. */
export interface ManifestParameters {
  format: typeof MANIFEST_FORMAT;
  tool: string;
  createdAt: string;
  /** URI of the run's target (directory or prefix). */
  target: string;
  /** 64-bit seed, decimal string. */
  seed: string;
  /** Objects in the whole data set (a shard writes some of them). */
  count: number;
  /** The size specification: bytes, or a distribution. */
  size: string;
  /** The object name template. */
  nameTemplate?: string;
  dedupRatio: number;
  compressRatio: number;
  /** The codec the compression ratio is calibrated for (`--ratio-codec`); absent: none. */
  ratioCodec?: string;
  /** Bytes. */
  dedupUnit: number;
  dedupScope: 'object' | 'dataset';
  /** Dedup units in the whole data set (dataset scope). */
  datasetUnits?: number;
  /** Compression applied to the stored objects (their names carry its extension). */
  compression: CompressionSpec;
  /** Which shard this manifest covers, if it is a shard's. */
  shard?: { index: number; count: number };
  /** Wall-clock seconds the run took (the longest shard's, once merged). */
  seconds: number;
}

/** The summary of a version 2 manifest. */
export interface ManifestSummary {
  /** File name of the records (NDJSON), beside the manifest. */
  records: string;
  /** Objects committed (records without `failure`). */
  committed: number;
  /** Objects that failed (records with `failure`). */
  failed: number;
  /** Uncompressed bytes of the committed objects. */
  bytes: number;
  /** Stored bytes of the committed objects (compressed runs). */
  compressedBytes?: number;
  /** Present (true) when the run stopped before every object of its plan was attempted. */
  interrupted?: true;
}

/** A version 2 manifest: parameters and summary; the records are in the side file. */
export interface ManifestV2 extends ManifestParameters, ManifestSummary {
  version: 2;
}

/** A version 1 manifest: parameters and every record inline. */
export interface ManifestV1 extends ManifestParameters {
  version: 1;
  objects: ManifestObject[];
  failures: ManifestFailure[];
}

/** A manifest of either version. */
export type Manifest = ManifestV1 | ManifestV2;

/** What {@link objectSpec} needs of a record. */
export type RecordIdentity = Pick<ManifestRecord, 'objectId' | 'size' | 'unitOffset'>;

/** The full {@link ObjectSpec} of one object of a manifest. */
export function objectSpec(manifest: ManifestParameters, object: RecordIdentity): ObjectSpec {
  return {
    seed: manifest.seed,
    objectId: object.objectId,
    size: object.size,
    dedupRatio: manifest.dedupRatio,
    compressRatio: manifest.compressRatio,
    ...(manifest.ratioCodec !== undefined && { ratioCodec: manifest.ratioCodec }),
    dedupUnit: manifest.dedupUnit,
    ...(manifest.dedupScope === 'dataset' && { datasetUnits: manifest.datasetUnits!, unitOffset: object.unitOffset ?? 0 }),
  };
}

/** The generator that regenerates one object of a manifest. */
export function generatorFor(manifest: ManifestParameters, object: RecordIdentity): DataGenerator {
  return new DataGenerator(objectSpec(manifest, object));
}

/**
 * Checks that parsed JSON is a manifest this version reads (version 1 or 2), as untrusted input: the
 * schema of manifest-schema.ts (every field's type and range, including what the generator needs: seed,
 * ratios, dedup unit, scope and dataset units), then the rules JSON Schema cannot state.
 * @param where - names the manifest in the error (its path or URI).
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST` ({@link ManifestError}) naming `where`, the field (e.g.
 *   `seed`, `objects[1].size`) and the object index, with the value found and what is allowed.
 */
export function checkManifest(data: unknown, where: string): Manifest {
  validateManifestDocument(data, where);
  const m = data as Manifest;
  if (m.version === 1) return { ...m, failures: m.failures ?? [] };
  return m;
}

/** Parses manifest text (version 1 or 2). @throws RangeError `ERR_DGEN_INVALID_MANIFEST`. */
export function parseManifest(text: string, where: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw invalidManifest(
      { location: where, field: '' },
      text.length > 40 ? `${text.slice(0, 40)}...` : text,
      `a JSON dgen manifest (${(err as Error).message})`,
    );
  }
  return checkManifest(data, where);
}

/**
 * Reads and checks a manifest file (its fixed part; records are read by {@link readManifestRecords}). The
 * file must be a regular file of at most 64 MiB ({@link MAX_MANIFEST_BYTES}); a FIFO or a device is
 * refused at once.
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST`; `ERR_DGEN_NOT_FOUND`; file-system errors as Node raises them.
 */
export async function readManifest(path: string): Promise<Manifest> {
  return parseManifest(await readManifestText({ scheme: 'file', path }), path);
}

/**
 * Reads a manifest (its fixed part) from a path or URI (`file://`, `s3://`, `az://`), bounded as
 * {@link readManifest}.
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST`; `ERR_DGEN_NOT_FOUND` when it does not exist; backend errors.
 */
export async function loadManifest(location: string, options: InputOptions = {}): Promise<Manifest> {
  return parseManifest(await readManifestText(location, options), location);
}

/** What a record check needs of its manifest. */
type RecordContext = Pick<ManifestParameters, 'count'> &
  Partial<Pick<ManifestParameters, 'dedupScope' | 'dedupUnit' | 'datasetUnits'>>;

/** Checks a record and returns only its known fields, in the canonical order. */
function checkedRecord(data: unknown, manifest: RecordContext, place: RecordPlace): ManifestLine {
  validateRecord(data, manifest, place);
  const r = data as ManifestRecord & Partial<ManifestFailureRecord>;
  if (r.failure !== undefined) {
    const { attempts, error, code } = r.failure;
    return { objectId: r.objectId, name: r.name, failure: { attempts, error, ...(code !== undefined && { code }) } };
  }
  const c = r.backendChecksum;
  return {
    objectId: r.objectId,
    name: r.name,
    size: r.size,
    crc32c: r.crc32c,
    ...(r.unitOffset !== undefined && { unitOffset: r.unitOffset }),
    ...(r.compressedSize !== undefined && { compressedSize: r.compressedSize }),
    ...(r.etag !== undefined && { etag: r.etag }),
    ...(c !== undefined && { backendChecksum: { algorithm: c.algorithm, value: c.value } }),
  };
}

/**
 * Checks one record (parsed JSON) and returns it with only its known fields, in the canonical order.
 * @param count - the manifest's `count` (or the manifest: then dataset unit ranges are checked too).
 * @param where - names the record in the error (e.g. `file:///x/dgen-manifest.records.ndjson`).
 * @param line - the records file's line (from 1), named in the error.
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST` naming `where`, the line and the field.
 */
export function checkRecord(data: unknown, count: number | RecordContext, where: string, line?: number): ManifestLine {
  return checkedRecord(data, typeof count === 'number' ? { count } : count, {
    location: where,
    ...(typeof line === 'number' && { line }),
  });
}

/** An empty set of the names a manifest's objects have ({@link ObjectNames}), for
 * {@link ReadRecordsOptions.names}. */
export function manifestNames(manifest: ManifestParameters): ObjectNames {
  return new ObjectNames(manifest.nameTemplate, COMPRESSION_EXTENSIONS[manifest.compression.algorithm] ?? '');
}

/** Options of {@link readManifestRecords}. */
export interface ReadRecordsOptions extends InputOptions {
  /** Receives the names of the committed objects (default: a fresh set): after the last record it holds
   * every name the manifest lists (verify uses it to find files the manifest does not list). */
  names?: ObjectNames;
  /** Names no record may have, e.g. the manifest's and its records' own names under the target (verify
   * sets them): such a record would make the reader check its own manifest as an object. */
  reserved?: ReadonlySet<string>;
}

/**
 * The records of a manifest, one at a time, in the order they were written: committed objects
 * ({@link ManifestRecord}) and failures ({@link ManifestFailureRecord}, with `failure`).
 *
 * Version 2: streams the side file named by `records`, beside `manifestLocation` (file, `s3://`, `az://`),
 * line by line: memory does not grow with the number of records. A local side file must be a regular
 * file (opened with O_NOFOLLOW and O_NONBLOCK, checked with fstat); each line is at most 64 KiB
 * ({@link MAX_RECORD_LINE_BYTES}), the file as a whole is not capped. Version 1: yields the inline
 * `objects`, then `failures` (converted to failure records; `uri` dropped).
 *
 * Every record is checked as untrusted input (manifest-schema.ts): `objectId` a decimal string below
 * `count`, `name` a relative name that stays inside the target (no `..`, `.` or empty segments, not
 * absolute, no NUL, not a `.dgen-partial` or manifest file name), `size` a whole number of bytes,
 * `crc32c` 8 hex digits, dataset units in range, optional fields of their types; no two committed records
 * name the same object. The side file must hold exactly `committed + failed` lines.
 * @param manifest - a checked manifest ({@link parseManifest}).
 * @param manifestLocation - path or URI of the manifest (needed for version 2: the records are beside it).
 * @param options - connection options for `s3://` and `az://`; `names` to collect the names.
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST` ({@link ManifestError}) for a line that is not JSON or not
 *   a valid record, a duplicate name, a side file with fewer or more lines than the manifest counts
 *   (truncated), a side file that is not a regular file, naming the side file's URI, the line and the
 *   field (version 1: the manifest and `objects[i]`); TypeError `ERR_DGEN_INVALID_OPTION` for a version 2
 *   manifest without a location; `ERR_DGEN_NOT_FOUND` when the side file does not exist; read errors.
 */
export async function* readManifestRecords(
  manifest: Manifest,
  manifestLocation?: string | Target,
  options: ReadRecordsOptions = {},
): AsyncGenerator<ManifestLine> {
  const names = options.names ?? manifestNames(manifest);
  const unique = (line: ManifestLine, place: RecordPlace): ManifestLine => {
    if (!isFailureRecord(line) && options.reserved?.has(line.name)) {
      throw invalidManifest(
        { ...place, field: place.prefix ? `${place.prefix}.name` : 'name' },
        line.name,
        'a name other than the manifest files under the target',
      );
    }
    if (!isFailureRecord(line) && !names.add(line.name)) {
      throw invalidManifest(
        { ...place, field: place.prefix ? `${place.prefix}.name` : 'name' },
        line.name,
        'a name no other committed record has (two records name the same object)',
      );
    }
    return line;
  };
  if (manifest.version === 1) {
    const location =
      manifestLocation === undefined
        ? '(manifest)'
        : typeof manifestLocation === 'string'
          ? manifestLocation
          : formatTarget(manifestLocation);
    for (const [i, o] of manifest.objects.entries()) {
      const place = { location, prefix: `objects[${i}]`, index: i };
      yield unique(checkedRecord(o, manifest, place), place);
    }
    for (const [i, f] of (manifest.failures ?? []).entries()) {
      const place = { location, prefix: `failures[${i}]`, index: i };
      // The manifest's schema checked the flat fields; this checks objectId and name.
      yield checkedRecord(
        {
          objectId: f.objectId,
          name: f.name,
          failure: { attempts: f.attempts, error: f.error, ...(f.code !== undefined && { code: f.code }) },
        },
        manifest,
        place,
      );
    }
    return;
  }
  if (manifestLocation === undefined) {
    throw invalidType(
      'ERR_DGEN_INVALID_OPTION',
      'manifestLocation',
      manifestLocation,
      'the path or URI of a version 2 manifest (its records are beside it)',
    );
  }
  const base = typeof manifestLocation === 'string' ? parseTarget(manifestLocation) : manifestLocation;
  const where = siblingTarget(base, manifest.records);
  const uri = formatTarget(where);
  const expected = manifest.committed + manifest.failed;
  const input = await openRecords(where, options);
  let n = 0;
  try {
    for await (const text of boundedLines(input, uri)) {
      n++;
      const place = { location: uri, line: n };
      if (n > expected)
        throw invalidManifest(
          { ...place, field: '' },
          text,
          `absent: the manifest counts ${expected} records (committed + failed)`,
        );
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        throw invalidManifest(
          { ...place, field: '' },
          text,
          'a manifest record (one JSON object per line; truncated or corrupted?)',
        );
      }
      yield unique(checkedRecord(data, manifest, place), place);
    }
  } finally {
    input.destroy();
  }
  if (n < expected) {
    throw invalidManifest(
      { location: uri, field: '', line: n + 1 },
      '(end of file)',
      `present: the manifest counts ${expected} records (committed + failed), the file ends after ${n} (truncated?)`,
    );
  }
}

/** Options of {@link ManifestWriter}: the sink options of the side file's backend, and the buffering. */
export interface ManifestWriterOptions extends SinkOptions {
  /** Lines are gathered into writes of about this many bytes. Default 256 KiB. */
  flushBytes?: number;
}

/**
 * Writes a records file (NDJSON, see the module documentation) through the sink of its target
 * (`createSink`: file, `s3://`, `az://`; a `direct://` target gets a plain file; never compressed), and
 * counts what it wrote.
 *
 * `object()` and `failure()` append a line to an in-memory buffer (synchronous, no I/O); once the buffer
 * holds `flushBytes` it goes to the sink in one write. `flushIfNeeded()` waits while the sink is over its
 * high-water mark (backpressure) and rejects once the sink has failed: callers await it between records.
 * `close()` writes the rest and commits the file (nothing is visible before, on every backend); `abort()`
 * discards it. Memory: the buffer, plus the sink's own (highWaterMark, default 4 MiB here; an S3 part or
 * Azure block).
 */
export class ManifestWriter {
  /** Where the records go (`direct` targets become `file`). */
  readonly target: Target;
  /** The records file's URI. */
  readonly uri: string;
  /** The records file's name (its last path segment): the manifest's `records`. */
  readonly name: string;
  readonly #sink: ObjectWriter;
  readonly #flushBytes: number;
  #pending = '';
  #error: Error | undefined;
  #drain: Promise<void> | undefined;
  #closed = false;
  #committed = 0;
  #failed = 0;
  #bytes = 0;
  #compressedBytes = 0;

  /**
   * Opens the records file's sink (for files, its directory must exist: see {@link ManifestWriter.create}).
   * @throws the errors of `createSink` (`ERR_DGEN_INVALID_URI`, `ERR_DGEN_INVALID_OPTION`).
   */
  constructor(target: string | Target, options: ManifestWriterOptions = {}) {
    const t = typeof target === 'string' ? parseTarget(target) : target;
    const { compression: _c, flushBytes, signal: _s, ...plain } = options;
    this.#flushBytes = optionalInteger('flushBytes', flushBytes, 256 * 1024, { min: 1, unit: ' of bytes' });
    this.target = t.scheme === 'direct' ? { scheme: 'file', path: t.path } : t;
    this.#sink = createSink(this.target, { highWaterMark: 4 * 1024 * 1024, ...plain, contentType: 'application/x-ndjson' });
    this.uri = formatTarget(this.target);
    this.name = baseName(this.target);
    this.#sink.on('error', (err: Error) => {
      this.#error ??= err;
    });
  }

  /** Creates the directory of a file target (or loads a cloud backend), then the writer. @throws file-system
   * errors; those of the constructor. */
  static async create(target: string | Target, options: ManifestWriterOptions = {}): Promise<ManifestWriter> {
    const t = typeof target === 'string' ? parseTarget(target) : target;
    await loadBackend(t.scheme);
    if (t.scheme === 'file' || t.scheme === 'direct') await mkdir(dirname(t.path), { recursive: true });
    return new ManifestWriter(t, options);
  }

  /** Committed objects recorded. */
  get committed(): number {
    return this.#committed;
  }
  /** Failures recorded. */
  get failed(): number {
    return this.#failed;
  }
  /** Sum of the committed objects' sizes (uncompressed bytes). */
  get bytes(): number {
    return this.#bytes;
  }
  /** Sum of the committed objects' stored sizes (`compressedSize`, else `size`). */
  get compressedBytes(): number {
    return this.#compressedBytes;
  }

  /** Records a committed object (one line). Synchronous; the line reaches the sink with the next full buffer. */
  object(record: ManifestRecord): void {
    const line = {
      objectId: record.objectId,
      name: record.name,
      size: record.size,
      crc32c: record.crc32c,
      ...(record.unitOffset !== undefined && { unitOffset: record.unitOffset }),
      ...(record.compressedSize !== undefined && { compressedSize: record.compressedSize }),
      ...(record.etag !== undefined && { etag: record.etag }),
      ...(record.backendChecksum !== undefined && { backendChecksum: record.backendChecksum }),
    };
    this.#append(JSON.stringify(line));
    this.#committed++;
    this.#bytes += record.size;
    this.#compressedBytes += record.compressedSize ?? record.size;
  }

  /** Records a failed object (one line). Synchronous, like {@link ManifestWriter.object}. */
  failure(record: ManifestFailureRecord): void {
    const { attempts, error, code } = record.failure;
    this.#append(
      JSON.stringify({
        objectId: record.objectId,
        name: record.name,
        failure: { attempts, error, ...(code !== undefined && { code }) },
      }),
    );
    this.#failed++;
  }

  #append(line: string): void {
    if (this.#closed) throw new Error(`records ${this.uri} are closed`);
    this.#pending += line + '\n';
    if (this.#pending.length >= this.#flushBytes) this.#flush();
  }

  #flush(): void {
    if (this.#pending === '') return;
    const chunk = Buffer.from(this.#pending, 'utf8');
    this.#pending = '';
    if (this.#error || this.#sink.destroyed) return; // flushIfNeeded() and close() report the failure
    this.#sink.write(chunk);
  }

  /**
   * Waits while the sink holds more than its high-water mark (backpressure); resolves at once otherwise.
   * @throws the sink's error once it has failed (e.g. `ERR_DGEN_BACKEND`, ENOSPC).
   */
  async flushIfNeeded(): Promise<void> {
    if (this.#error) throw this.#error;
    if (!this.#sink.writableNeedDrain) return;
    this.#drain ??= new Promise<void>((resolve, reject) => {
      const sink = this.#sink;
      const done = (err?: Error) => {
        sink.off('drain', onDrain);
        sink.off('error', onError);
        sink.off('close', onClose);
        this.#drain = undefined;
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onError = (err: Error) => done(err);
      const onClose = () => done(this.#error ?? new Error(`records ${this.uri} closed before draining`));
      sink.on('drain', onDrain);
      sink.on('error', onError);
      sink.on('close', onClose);
    });
    await this.#drain;
  }

  /**
   * Writes the buffered lines and commits the records file.
   * @returns the file's URI.
   * @throws the sink's error (the file is then not committed, nothing of it remains).
   */
  async close(): Promise<string> {
    if (this.#closed) throw new Error(`records ${this.uri} are closed`);
    this.#flush();
    this.#closed = true;
    if (this.#error) {
      await this.#sink.result().catch(() => {});
      throw this.#error;
    }
    this.#sink.end();
    return (await this.#sink.result()).uri;
  }

  /** Discards the records file (nothing of it remains); resolves once the sink has cleaned up. */
  async abort(reason?: Error): Promise<void> {
    this.#closed = true;
    this.#pending = '';
    if (!this.#sink.destroyed) this.#sink.destroy(reason ?? Object.assign(new Error('records aborted'), { name: 'AbortError' }));
    await this.#sink.result().catch(() => {});
  }
}

/** Stores a manifest as `name` under the target (direct I/O targets get a plain file). */
export function storeManifest(prefix: Target, name: string, manifest: Manifest, options: SinkOptions = {}): Promise<string> {
  return storeManifestAt(childTarget(prefix, name), manifest, options);
}

/**
 * Stores a manifest document at a target through that target's own sink (uncompressed; direct I/O as a
 * plain file; a file's directory is created).
 * @returns the stored manifest's URI.
 * @throws file-system and backend errors (nothing partial remains).
 */
export async function storeManifestAt(where: Target, manifest: Manifest, options: SinkOptions = {}): Promise<string> {
  const { compression: _ignored, signal: _s, ...plain } = options;
  await loadBackend(where.scheme);
  if (where.scheme === 'file' || where.scheme === 'direct') await mkdir(dirname(where.path), { recursive: true });
  const sink = createSink(where.scheme === 'direct' ? { scheme: 'file', path: where.path } : where, {
    ...plain,
    contentType: 'application/json',
  });
  sink.on('error', () => {}); // result() reports it
  sink.end(JSON.stringify(manifest, null, 2) + '\n');
  return (await sink.result()).uri;
}

/** The parameters that make shards one run. */
function runKey(m: Manifest): string {
  return JSON.stringify([
    m.target,
    m.seed,
    m.count,
    m.size,
    m.nameTemplate,
    m.dedupRatio,
    m.compressRatio,
    m.ratioCodec,
    m.dedupUnit,
    m.dedupScope,
    m.datasetUnits,
    m.compression,
    m.shard?.count,
  ]);
}

/**
 * Checks that manifests are the shards of one run, each once, none missing.
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST` when they are not shards of the same run (target, seed,
 *   count, size, template, ratios, unit, scope, compression, shard count), when a shard is missing or
 *   given twice.
 */
export function checkShardSet(shards: Manifest[]): void {
  if (shards.length === 0) throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifests', shards, 'at least one shard manifest');
  const first = shards[0]!;
  const seen = new Set<number>();
  for (const m of shards) {
    if (!m.shard) throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifests', m.target, 'shard manifests (with a shard field)');
    if (runKey(m) !== runKey(first))
      throw invalidRange(
        'ERR_DGEN_INVALID_MANIFEST',
        'manifests',
        `shard ${m.shard.index}`,
        'shards of the same run (same target, seed and parameters)',
      );
    if (seen.has(m.shard.index))
      throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifests', `shard ${m.shard.index}`, 'each shard once');
    seen.add(m.shard.index);
  }
  const missing = Array.from({ length: first.shard!.count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length)
    throw invalidRange(
      'ERR_DGEN_INVALID_MANIFEST',
      'manifests',
      `shards ${missing.join(', ')} missing`,
      `all ${first.shard!.count} shards`,
    );
}

/**
 * Joins version 1 shard manifests in memory (their records are inline) into a version 1 manifest of the
 * whole run. For version 2 shards (records in side files) use {@link mergeShardManifests}, which
 * streams.
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST` for the reasons of {@link checkShardSet}, for a version 2
 *   shard, or when an object appears twice.
 */
export function mergeManifests(shards: Manifest[]): ManifestV1 {
  checkShardSet(shards);
  const v1 = shards.map((m) => {
    if (m.version !== 1)
      throw invalidRange(
        'ERR_DGEN_INVALID_MANIFEST',
        'manifests',
        `shard ${m.shard!.index}`,
        'version 1 manifests (version 2 shards are merged by mergeShardManifests)',
      );
    return m;
  });
  const first = v1[0]!;
  const objects = v1.flatMap((m) => m.objects).sort((a, b) => Number(a.objectId) - Number(b.objectId));
  for (let i = 1; i < objects.length; i++) {
    if (objects[i]!.objectId === objects[i - 1]!.objectId) {
      throw invalidRange(
        'ERR_DGEN_INVALID_MANIFEST',
        'manifests',
        `object ${objects[i]!.objectId}`,
        'each object in one shard only',
      );
    }
  }
  const { shard: _s, ...rest } = first;
  return {
    ...rest,
    createdAt: new Date().toISOString(),
    seconds: Math.max(...v1.map((m) => m.seconds ?? 0)),
    objects,
    failures: v1.flatMap((m) => m.failures ?? []).sort((a, b) => Number(a.objectId) - Number(b.objectId)),
  };
}

/**
 * The shard manifests (`dgen-manifest.shard-I-of-N.json`) directly under a target, as URIs in name
 * order. Lists only names with that prefix on S3 and Azure, and reads a directory's entries as a stream,
 * so a target with millions of objects costs no memory per object.
 * @throws `ERR_DGEN_INVALID_URI`; file-system and backend errors.
 */
export async function findShardManifests(target: string | Target, options: InputOptions = {}): Promise<string[]> {
  const prefix = typeof target === 'string' ? parseTarget(target, true) : target;
  const found: string[] = [];
  if (prefix.scheme === 'file' || prefix.scheme === 'direct') {
    for await (const entry of await opendir(prefix.path)) {
      if (entry.isFile() && SHARD_MANIFEST_PATTERN.test(entry.name))
        found.push(formatTarget({ scheme: 'file', path: join(prefix.path, entry.name) }));
    }
  } else {
    const under = formatTarget(childTarget(prefix, ''));
    for await (const input of listInputs([formatTarget(childTarget(prefix, 'dgen-manifest.shard-'))], options)) {
      const rest = input.uri.slice(under.length);
      if (input.uri.startsWith(under) && SHARD_MANIFEST_PATTERN.test(rest)) found.push(input.uri);
    }
  }
  return found.sort();
}

/** Options of {@link mergeShardManifests}: connection options for reading, sink options for writing. */
export type MergeOptions = SinkOptions & InputOptions;

/** What {@link mergeShardManifests} wrote. */
export interface MergeResult {
  /** The merged manifest (version 2), as stored. */
  manifest: ManifestV2;
  /** Where it was stored. */
  manifestUri: string;
  /** Where its records were stored. */
  recordsUri: string;
}

/**
 * Joins the shard manifests of one run (version 1 or 2, e.g. from {@link findShardManifests}) into one
 * version 2 manifest at `into`, streaming every shard's records into one records file beside it: memory
 * is one bit per object recorded (duplicates are found with a sparse bitmap of object identities), not one record.
 *
 * The merged manifest keeps the shards' parameters (without `shard`), `seconds` of the longest shard,
 * the summed counts, and `interrupted` if a shard was. Its records are the shards' in shard order.
 * @param locations - paths or URIs of the shard manifests.
 * @param into - path or URI of the merged manifest (its records go beside it).
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST` for the reasons of {@link checkShardSet}, for an object
 *   recorded twice, for a record in the wrong shard (objectId mod shard count is not the shard index),
 *   and for invalid records ({@link readManifestRecords}); read and write errors. Nothing is stored
 *   then (the merged records file is discarded).
 */
export async function mergeShardManifests(
  locations: string[],
  into: string | Target,
  options: MergeOptions = {},
): Promise<MergeResult> {
  const shards: Manifest[] = [];
  for (const location of locations) shards.push(await loadManifest(location, options));
  checkShardSet(shards);
  const first = shards[0]!;
  const destination = typeof into === 'string' ? parseTarget(into) : into;
  const writer = await ManifestWriter.create(recordsTargetFor(destination), options);
  const seen = new SparseBitmap(); // one bit per object recorded, whatever count says
  let recordsUri: string;
  try {
    for (const [i, shard] of shards.entries()) {
      const { index, count } = shard.shard!;
      for await (const line of readManifestRecords(shard, locations[i], options)) {
        const id = Number(line.objectId);
        if (id % count !== index) {
          throw invalidRange(
            'ERR_DGEN_INVALID_MANIFEST',
            'manifests',
            `object ${line.objectId} in shard ${index} of ${count}`,
            'records of objects whose index mod the shard count is the shard index',
          );
        }
        if (!seen.add(id))
          throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifests', `object ${line.objectId}`, 'each object recorded once');
        if (isFailureRecord(line)) writer.failure(line);
        else writer.object(line);
        await writer.flushIfNeeded();
      }
    }
    recordsUri = await writer.close();
  } catch (err) {
    await writer.abort(err as Error);
    throw err;
  }
  const { shard: _s, ...base } = manifestParameters(first);
  const manifest: ManifestV2 = {
    ...base,
    format: MANIFEST_FORMAT,
    version: 2,
    createdAt: new Date().toISOString(),
    seconds: Math.max(...shards.map((m) => m.seconds ?? 0)),
    records: writer.name,
    committed: writer.committed,
    failed: writer.failed,
    bytes: writer.bytes,
    ...(first.compression.algorithm !== 'none' && { compressedBytes: writer.compressedBytes }),
    ...(shards.some((m) => m.version === 2 && m.interrupted) && { interrupted: true as const }),
  };
  const ordered = orderManifest(manifest);
  const manifestUri = await storeManifestAt(destination, ordered, options);
  return { manifest: ordered, manifestUri, recordsUri };
}

const PARAMETER_KEYS = [
  'format',
  'tool',
  'createdAt',
  'target',
  'seed',
  'count',
  'size',
  'nameTemplate',
  'dedupRatio',
  'compressRatio',
  'ratioCodec',
  'dedupUnit',
  'dedupScope',
  'datasetUnits',
  'compression',
  'shard',
  'seconds',
] as const;

/** The parameters of a manifest of either version (no version, records or summary). */
export function manifestParameters(manifest: Manifest): ManifestParameters {
  const out: Record<string, unknown> = {};
  for (const key of PARAMETER_KEYS) if (manifest[key] !== undefined) out[key] = manifest[key];
  return out as unknown as ManifestParameters;
}

/** The documented order of a version 2 manifest's keys: the format and version, the parameters, then the
 * records and the summary. */
const KEY_ORDER = [
  'format',
  'version',
  ...PARAMETER_KEYS.slice(1),
  'records',
  'committed',
  'failed',
  'bytes',
  'compressedBytes',
  'interrupted',
];

/** The same manifest with its keys in the documented order (absent optional fields left out). */
export function orderManifest(manifest: ManifestV2): ManifestV2 {
  const given = manifest as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of KEY_ORDER) if (given[key] !== undefined) out[key] = given[key];
  return out as unknown as ManifestV2;
}
