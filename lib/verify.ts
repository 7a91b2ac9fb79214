/**
 * Verify: read every object of a manifest back (streamed, `concurrency` at once), decompress it if the
 * run compressed, regenerate the expected bytes from the manifest and compare them byte for byte. The
 * manifest's records are streamed too ({@link readManifestRecords}): memory does not grow with the number
 * of objects, only with the number of bad ones the report lists.
 *
 * The manifest is untrusted input: it is read bounded (a regular file of at most 64 MiB, records lines of
 * at most 64 KiB) and checked by schema before anything is opened; object names stay inside the target;
 * only regular files are read, never through a link, never a `.dgen-partial` file; a read stops at the
 * first difference and after the expected size + 1 byte. Then the target is listed and the objects the
 * manifest does not list are reported (`extras`).
 *
 * A format manifest (`dgen put --format`, its `fileFormat`) lists files (`.npz`, `.tfrecord`, ...): each is
 * compared with the file its format writer makes again from the manifest's parameters, and TFRecord index
 * files with theirs (lib/verify-formats.ts); a manifest whose files this version cannot make again is
 * refused (`ERR_DGEN_MANIFEST_UNSUPPORTED`) rather than reported as corrupt.
 * @module
 */
import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import { relative, resolve, sep } from 'node:path';
import { invalidType } from './errors.js';
import {
  checkManifest,
  generatorFor,
  isFailureRecord,
  manifestName,
  manifestNames,
  parseManifest,
  readManifestRecords,
  siblingTarget,
  type Manifest,
  type ManifestParameters,
  type ManifestRecord,
} from './manifest.js';
import { createDecompressor } from './compression.js';
import { Backends, childTarget, formatTarget, parseTarget, type ConnectionOptions, type Target } from './backends/index.js';
import { checkOptionKeys, optionKeys } from './option-keys.js';
import { optionalBoolean, optionalInteger, validateFunction, validateOptionsObject, validateString } from './validators.js';
import { channels, debug } from './observe.js';
import { verifyLocalObjects } from './local-verifier.js';
import { readManifestText } from './manifest-input.js';
import { runBounded } from './run-bounded.js';
import { canonicalRoot, openObjectFile } from './verify-open.js';
import { findExtras, type VerifyExtra } from './verify-extras.js';
import type { ManifestError } from './manifest-schema.js';
import {
  compareFormatFile,
  formatRegeneration,
  verifyLocalFormatFiles,
  type FormatRegeneration,
  type UnsupportedManifestError,
} from './verify-formats.js';
import { binding } from './native.js';
import type { FormatFile } from './formats/index.js';

export type { VerifyExtra } from './verify-extras.js';

/** Extras a report lists (all are counted). */
export const MAX_EXTRAS_LISTED = 1000;

/** A batch of objects checked at once on the native path: up to 1,024 objects or 256 MiB. */
const VERIFY_BATCH_OBJECTS = 1024;
const VERIFY_BATCH_BYTES = 256 * 1024 * 1024;

/** Options of {@link verifyObjects}: where the objects and the manifest are, and how to reach them (S3 and
 * Azure connection options, or ready clients: `client`, `serviceClient`, used as they are). */
export interface VerifyOptions extends ConnectionOptions {
  /** Where the objects are: the run's target (default: the manifest's `target`). */
  target?: string;
  /** The manifest: a parsed one, or a path/URI (default `<target>/dgen-manifest.json`). */
  manifest?: Manifest | string;
  /** Where a parsed version 2 manifest (given as `manifest`) is stored, to find its records beside it.
   * Default: its `manifestUri` when it has one (a {@link putObjects} result does), else its standard name
   * under the target (`dgen-manifest.json`, or the shard manifest's name). */
  manifestLocation?: string;
  /** Objects read at once on the stream path (object stores, compressed objects). Default 4. Uncompressed
   * local objects are checked in batches on the worker pool instead, every worker busy. */
  concurrency?: number;
  /** Called after each object. */
  onObject?: (result: VerifyObjectResult) => void;
  /** List the target for objects the manifest does not list (`extras`). Default true. */
  extras?: boolean;
}

/** The keys of {@link VerifyOptions}: any other key is an error. */
export const VERIFY_OPTION_KEYS = optionKeys<VerifyOptions>({
  target: true,
  manifest: true,
  manifestLocation: true,
  concurrency: true,
  onObject: true,
  extras: true,
  endpoint: true,
  region: true,
  forcePathStyle: true,
  credentials: true,
  maxAttempts: true,
  client: true,
  connectionString: true,
  serviceClient: true,
  pipeline: true,
});

/** Default objects read at once on the stream path: 4. */
export const DEFAULT_VERIFY_CONCURRENCY = 4;

/** What verify found for one object. */
export interface VerifyObjectResult {
  name: string;
  uri: string;
  status: 'ok' | 'mismatch' | 'missing' | 'size' | 'error';
  /** `mismatch`: offset of the first byte that differs (in the uncompressed object). */
  offset?: number;
  /** `size`: bytes expected, and the object's size (local files: from fstat; streamed objects: bytes read,
   * which stops at the expected size + 1 for a longer object, so then it says "longer", not how long). */
  expectedSize?: number;
  actualSize?: number;
  /** `error`: what went wrong reading it. */
  error?: string;
  /** Files of a format manifest (`fileFormat`): `bytes` when compared with the file made again by its
   * format writer, `crc32c` when judged by its record's CRC-32C alone (see `note`, lib/verify-formats.ts). */
  check?: 'bytes' | 'crc32c';
  /** Why a file was judged by CRC-32C alone. */
  note?: string;
}

/** The report of a verify run. */
export interface VerifyReport {
  /** The manifest's path or URI (`(given)` for a parsed one). */
  manifest: string;
  /** The records' URI (version 2 manifests). */
  records?: string;
  /** Objects checked (the committed objects of the manifest; failed ones were never written). */
  objects: number;
  /** Objects that match. */
  ok: number;
  /** Bytes of the objects that match (uncompressed). */
  bytes: number;
  mismatches: VerifyObjectResult[];
  missing: VerifyObjectResult[];
  sizeMismatches: VerifyObjectResult[];
  errors: VerifyObjectResult[];
  /** Objects under the target that the manifest does not list (not counted in `objects`): the manifest
   * files and `.dgen-partial` files are not extras. Absent when not listed (`extras: false`). */
  extraObjects?: number;
  /** The first {@link MAX_EXTRAS_LISTED} extras, by name. */
  extras?: VerifyExtra[];
  /** `.dgen-partial` files under the target (writes in progress or left by a crash; never read). */
  partialFiles?: number;
  /** A format manifest's (`dgen put --format`): the files' format, e.g. `npz`. */
  fileFormat?: string;
  /** A format manifest's: files judged by their record's CRC-32C alone (`check: 'crc32c'`), because this
   * version does not make the recorded file again (see each one's `note`). */
  crc32cOnly?: number;
}

/** Thrown into a compare pipeline to stop reading once the verdict is known. */
const STOP = Object.freeze(new Error('verdict known'));

/**
 * Compares an object with regenerated bytes; resolves with what it found. Reading stops at the first
 * difference and once more than the expected size has come (the object is then longer than it should be).
 * @param root - for local targets, the canonical target directory: the object is opened by
 *   {@link openObjectFile} (regular files only, no link followed, never outside the target).
 */
async function compare(
  manifest: ManifestParameters,
  object: ManifestRecord,
  target: Target,
  backends: Backends,
  root?: string,
): Promise<VerifyObjectResult> {
  const uri = formatTarget(target);
  const base = { name: object.name, uri };
  const generator = generatorFor(manifest, object);
  let offset = 0;
  let mismatch: number | undefined;
  let expected = Buffer.alloc(0);
  const checker = new Writable({
    highWaterMark: 4 * 1024 * 1024,
    write(chunk: Buffer, _e, cb) {
      const n = Math.min(chunk.length, Math.max(0, object.size - offset));
      if (expected.length < n) expected = Buffer.allocUnsafe(Math.max(n, 1 << 20));
      const want = expected.subarray(0, n);
      generator.fillSync(want, offset);
      if (!want.equals(chunk.subarray(0, n))) {
        let i = 0;
        while (want[i] === chunk[i]) i++;
        mismatch = offset + i;
      }
      offset += chunk.length;
      cb(mismatch !== undefined || offset > object.size ? STOP : null);
    },
  });
  let source: Readable;
  let fileSize: number | undefined;
  try {
    if (root !== undefined) {
      const opened = await openObjectFile(root, object.name);
      if ('status' in opened) return { ...base, ...opened };
      fileSize = opened.size;
      // A regular file: its size from fstat bounds the read (stored bytes, compressed or not).
      source = opened.handle.createReadStream({
        highWaterMark: 4 * 1024 * 1024,
        start: 0,
        ...(opened.size > 0 && { end: opened.size - 1 }),
        autoClose: true,
      });
    } else source = await backends.open(target);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_DGEN_NOT_FOUND') return { ...base, status: 'missing' };
    return { ...base, status: 'error', error: (err as Error).message };
  }
  try {
    if (manifest.compression.algorithm === 'none') await pipeline(source, checker);
    else await pipeline(source, createDecompressor(manifest.compression.algorithm), checker);
  } catch (err) {
    if (err !== STOP) return { ...base, status: 'error', error: (err as Error).message };
  } finally {
    source.destroy();
  }
  if (mismatch !== undefined) return { ...base, status: 'mismatch', offset: mismatch };
  if (offset !== object.size) {
    const actualSize = manifest.compression.algorithm === 'none' && fileSize !== undefined ? fileSize : offset;
    return { ...base, status: 'size', expectedSize: object.size, actualSize };
  }
  return { ...base, status: 'ok' };
}

/** The names under `prefix` of the manifest files, when they lie under it (they may not be objects). */
function ownFiles(prefix: Target, manifestUri: string, recordsUri: string | undefined): Set<string> {
  const names = new Set<string>();
  for (const uri of [manifestUri, recordsUri]) {
    if (uri === undefined || uri === '(given)') continue;
    const t = parseTarget(uri);
    if ((prefix.scheme === 'file' || prefix.scheme === 'direct') && (t.scheme === 'file' || t.scheme === 'direct')) {
      const rel = relative(resolve(prefix.path), resolve(t.path));
      if (rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep)) names.add(rel.split(sep).join('/'));
    } else {
      const under = formatTarget(childTarget(prefix, ''));
      if (uri.startsWith(under)) names.add(uri.slice(under.length));
    }
  }
  return names;
}

/**
 * Verifies every object of a manifest (version 1 or 2), `concurrency` objects at once, taking the records
 * one at a time from the manifest's records as the workers need them; then lists the target for extras
 * (unless `extras: false`). The manifest (a file, or a parsed one) is checked as untrusted input first.
 * @returns the report: counts, and the objects that did not match (mismatch, size, missing, error),
 *   each list sorted by name; the extras (count, the first {@link MAX_EXTRAS_LISTED} by name) and the
 *   `.dgen-partial` files found.
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` without a target or manifest, for a key verify does not take
 *   (`parameter` the key; "did you mean ...?") or an option of the wrong type; RangeError
 *   `ERR_DGEN_INVALID_OPTION` for a concurrency that is not a whole number >= 1; `ERR_DGEN_INVALID_OPTION`
 *   (`connectionString`) for an `az://` target or manifest without a connection; RangeError `ERR_DGEN_INVALID_MANIFEST`
 *   ({@link ManifestError}: `field`, `index` or `line`, `location`) for an invalid manifest or record, a
 *   manifest that is not a regular file or is over 64 MiB, a records line over 64 KiB, a name that leaves
 *   the target, repeats another or names the manifest's own files; `ERR_DGEN_MANIFEST_UNSUPPORTED`
 *   ({@link UnsupportedManifestError}: `location`, `field`) for a format manifest whose files this version
 *   cannot make again (no usable `fileFormat`, parameters it refuses, files of another size than recorded),
 *   thrown before its first verdict or at the first such record; `ERR_DGEN_NOT_FOUND` when the manifest
 *   or its records do not exist; backend errors reading them. Problems with single objects (missing, a
 *   link, a FIFO, unreadable) are not thrown: they are in the report.
 */
export async function verifyObjects(options: VerifyOptions): Promise<VerifyReport> {
  options = validateOptionsObject('options', options);
  checkOptionKeys(options, VERIFY_OPTION_KEYS, 'verifyObjects options');
  if (options.target === undefined && options.manifest === undefined) {
    throw invalidType('ERR_DGEN_INVALID_OPTION', 'target', undefined, 'a target or a manifest');
  }
  if (options.target !== undefined) validateString('target', options.target, 'a path or URI');
  if (typeof options.manifest !== 'object' && options.manifest !== undefined)
    validateString('manifest', options.manifest, 'a manifest path or URI, or a parsed manifest');
  if (options.manifestLocation !== undefined) validateString('manifestLocation', options.manifestLocation, 'a path or URI');
  if (options.onObject !== undefined) validateFunction('onObject', options.onObject);
  const concurrency = optionalInteger('concurrency', options.concurrency, DEFAULT_VERIFY_CONCURRENCY, { min: 1 });
  const listExtras = optionalBoolean('extras', options.extras, true);
  // One run, one client per object store: the manifest, its records, every object and the listing for
  // extras all go through it.
  const backends = new Backends(options);
  try {
    return await verifyRun(options, concurrency, listExtras, backends);
  } finally {
    await backends.close();
  }
}

/** {@link verifyObjects} once its options are checked, through the run's backends. */
async function verifyRun(
  options: VerifyOptions,
  concurrency: number,
  listExtras: boolean,
  backends: Backends,
): Promise<VerifyReport> {
  let manifestUri: string;
  let location: string;
  let manifest: Manifest;
  if (typeof options.manifest === 'object' && options.manifest !== null) {
    manifest = checkManifest(options.manifest, '(given manifest)');
    manifestUri = '(given)';
    const own = (manifest as { manifestUri?: unknown }).manifestUri;
    location =
      options.manifestLocation ??
      (typeof own === 'string'
        ? own
        : formatTarget(childTarget(parseTarget(options.target ?? manifest.target, true), manifestName(manifest.shard))));
  } else {
    location = options.manifest ?? formatTarget(childTarget(parseTarget(options.target!, true), manifestName()));
    manifestUri = location;
    manifest = parseManifest(
      await readManifestText(location, await backends.connectionOptions(options, [parseTarget(location)])),
      location,
    );
  }
  const prefix = parseTarget(options.target ?? manifest.target, true);
  const recordsUri = manifest.version === 2 ? formatTarget(siblingTarget(parseTarget(location), manifest.records)) : undefined;
  /** The connection options with the run's clients, for the manifest functions that read through them. */
  const runOptions = await backends.connectionOptions(options, [
    parseTarget(location),
    ...(recordsUri !== undefined ? [parseTarget(recordsUri)] : []),
  ]);
  // A format manifest's files are made again by their format writer (checked before anything is read).
  const regeneration = await formatRegeneration(manifest, manifestUri === '(given)' ? '(given manifest)' : location);
  const local = prefix.scheme === 'file' || prefix.scheme === 'direct';
  /** The canonical target directory: objects are opened beneath it, never through a link. */
  const root = local ? await canonicalRoot(prefix.path) : undefined;
  const report: VerifyReport = {
    manifest: manifestUri,
    ...(recordsUri !== undefined && { records: recordsUri }),
    objects: 0,
    ok: 0,
    bytes: 0,
    mismatches: [],
    missing: [],
    sizeMismatches: [],
    errors: [],
    ...(regeneration && { fileFormat: regeneration.format, crc32cOnly: 0 }),
  };
  // The manifest's own files may not be objects (a record naming one would check the manifest against
  // regeneration), nor are they extras.
  const own = ownFiles(prefix, location, recordsUri);
  const names = manifestNames(manifest);
  const records = readManifestRecords(manifest, location, { ...runOptions, names, reserved: own });
  /** The next committed object's record (failed objects were never written), or undefined at the end. */
  const nextObject = async (): Promise<ManifestRecord | undefined> => {
    for (;;) {
      const r = await records.next();
      if (r.done) return undefined;
      if (!isFailureRecord(r.value)) return r.value;
    }
  };
  let failure: { error: unknown } | undefined;
  /** Adds one object's verdict to the report. */
  const tally = (object: ManifestRecord, uri: string, result: VerifyObjectResult) => {
    report.objects++;
    if (result.check === 'crc32c') report.crc32cOnly!++;
    debug('verify %s: %s', uri, result.status);
    if (result.status !== 'ok')
      channels.objectFailure.publish({ name: object.name, uri, objectId: Number(object.objectId), attempts: 1, error: result });
    const list = {
      ok: undefined,
      mismatch: report.mismatches,
      missing: report.missing,
      size: report.sizeMismatches,
      error: report.errors,
    }[result.status];
    if (list) list.push(result);
    else {
      report.ok++;
      report.bytes += object.size;
    }
    options.onObject?.(result);
  };
  /** The committed objects' records, one at a time as the runner takes them. */
  async function* committed(): AsyncGenerator<ManifestRecord> {
    for (let object = await nextObject(); object; object = await nextObject()) yield object;
  }
  /** The stream path: `concurrency` objects read at once by the shared runner; the first failure (of a
   * callback, not a verdict: a bad object is a verdict) stops it taking more. */
  const streamed = async () => {
    try {
      const run = await runBounded(
        committed(),
        async (object) => {
          const target = childTarget(prefix, object.name);
          tally(object, formatTarget(target), await compare(manifest, object, target, backends, root));
        },
        { concurrency, failFast: true, collect: false },
      );
      if (run.firstError) failure ??= { error: run.firstError.error };
    } catch (err) {
      failure ??= { error: err };
    }
  };
  /** A format manifest's files (and their companion index files), `concurrency` at once, each against the
   * file its format writer makes again; a manifest whose files cannot be made again stops the run. */
  const formatted = async (regeneration: FormatRegeneration) => {
    const algorithm = manifest.compression.algorithm;
    try {
      const run = await runBounded(
        committed(),
        async (object) => {
          const file = await regeneration.file(object);
          const target = childTarget(prefix, object.name);
          const uri = formatTarget(target);
          const verdict = await compareFormatFile(object, file, target, algorithm, { root, backends });
          tally(object, uri, { name: object.name, uri, ...verdict });
          await companionOf(regeneration, object, file);
        },
        { concurrency, failFast: true, collect: false },
      );
      if (run.firstError) failure ??= { error: run.firstError.error };
    } catch (err) {
      failure ??= { error: err };
    }
  };
  /** The companion index file of a format file, if its run wrote one, against its regeneration. */
  const companionOf = async (regeneration: FormatRegeneration, object: ManifestRecord, file: FormatFile) => {
    const companion = regeneration.companion(object, file);
    if (companion === undefined) return;
    const algorithm = manifest.compression.algorithm;
    const at = childTarget(prefix, companion.name);
    const size = companion.content.length;
    const crc32c = (binding.crc32c(companion.content) >>> 0).toString(16).padStart(8, '0');
    const result = await compareFormatFile({ name: companion.name, size, crc32c }, companion.content, at, algorithm, {
      root,
      backends,
    });
    tally({ ...object, name: companion.name, size, crc32c }, formatTarget(at), {
      name: companion.name,
      uri: formatTarget(at),
      ...result,
    });
  };
  /** Uncompressed format files laid out by segments in a directory: batches checked on the worker pool. */
  const formattedNative = (regeneration: FormatRegeneration, root: string) =>
    batches(async (batch) => {
      const checked = await verifyLocalFormatFiles(
        manifest,
        regeneration,
        batch,
        root,
        (object) => childTarget(prefix, object.name),
        backends,
      );
      for (const [i, object] of batch.entries()) {
        const uri = formatTarget(childTarget(prefix, object.name));
        tally(object, uri, { name: object.name, uri, ...checked[i]!.verdict });
        await companionOf(regeneration, object, checked[i]!.file);
      }
    });
  /** Batches of records checked by `check`, the next batch's records read while one is checked. */
  const batches = async (check: (batch: ManifestRecord[]) => Promise<void>) => {
    let checking: Promise<void> | undefined;
    try {
      for (;;) {
        const batch: ManifestRecord[] = [];
        let bytes = 0;
        for (
          let object;
          batch.length < VERIFY_BATCH_OBJECTS && bytes < VERIFY_BATCH_BYTES && (object = await nextObject());
          bytes += object.size
        )
          batch.push(object);
        if (batch.length === 0) break;
        await checking;
        checking = check(batch);
      }
      await checking;
    } catch (err) {
      await checking?.catch(() => {});
      failure ??= { error: err };
    }
  };
  /** Uncompressed local objects: batches of records checked on the worker pool. */
  const native = (root: string) =>
    batches(async (batch) => {
      const verdicts = await verifyLocalObjects(manifest, batch, root);
      batch.forEach((object, i) => {
        const uri = formatTarget(childTarget(prefix, object.name));
        tally(object, uri, {
          name: object.name,
          uri,
          ...verdicts[i]!,
          ...(verdicts[i]!.status === 'size' && { expectedSize: object.size }),
        });
      });
    });
  try {
    if (regeneration && local && regeneration.segmented && manifest.compression.algorithm === 'none')
      await formattedNative(regeneration, root!);
    else if (regeneration) await formatted(regeneration);
    else if (local && manifest.compression.algorithm === 'none') await native(root!);
    else await streamed();
  } finally {
    await records.return(undefined);
  }
  if (failure) throw failure.error;
  if (listExtras) {
    // The first MAX_EXTRAS_LISTED by name, in bounded memory: sorted and cut whenever twice as many gathered.
    let extras: VerifyExtra[] = [];
    const byName = (a: VerifyExtra, b: VerifyExtra) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    const keep = (extra: VerifyExtra) => {
      extras.push(extra);
      if (extras.length >= 2 * MAX_EXTRAS_LISTED) extras = extras.sort(byName).slice(0, MAX_EXTRAS_LISTED);
    };
    const listed = (name: string) => names.has(name);
    // A format run's companion files (TFRecord indexes) were checked with their files: not extras.
    const found = await findExtras(
      prefix,
      (name) => listed(name) || (regeneration?.isCompanion(name, listed) ?? false),
      own,
      keep,
      backends,
    );
    report.extraObjects = found.count;
    report.extras = extras.sort(byName).slice(0, MAX_EXTRAS_LISTED);
    report.partialFiles = found.partials;
  }
  const byName = (a: VerifyObjectResult, b: VerifyObjectResult) => a.name.localeCompare(b.name);
  report.mismatches.sort(byName);
  report.missing.sort(byName);
  report.sizeMismatches.sort(byName);
  report.errors.sort(byName);
  return report;
}
