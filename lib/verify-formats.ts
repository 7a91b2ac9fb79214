/**
 * Verify of a format manifest (`dgen put --format`, {@link putFormatObjects}): its records are files
 * (`.npz`, `.tfrecord`, ...), not raw objects, so each file's expected bytes are made again by the same
 * format writer (lib/formats/*) from what the manifest records: the format and its parameters
 * (`fileFormat`), the seed, ratios, ratio codec and dedup unit, and the record's object id. The file is
 * streamed against that regeneration in lockstep, both in bounded chunks (about one 4 MiB chunk of each
 * in flight), and both streams' CRC-32C are taken on the way (the addon's ISA-L/hardware CRC-32C):
 *
 * - the regeneration's CRC-32C equals the record's (this version writes the file the run wrote): the byte
 *   comparison decides, `ok` or `mismatch` at the first differing offset (`check: 'bytes'`);
 * - it does not (the writer changed between versions, or the record was altered): the file's own CRC-32C
 *   against the record decides, `ok` or `mismatch` without an offset (`check: 'crc32c'`, with a `note`).
 *
 * A file of another size than its record is `size`; an absent one `missing`. A manifest whose files cannot
 * be made again (no usable `fileFormat`, parameters this version refuses, or files this version makes in
 * another size) is refused before any verdict with `ERR_DGEN_MANIFEST_UNSUPPORTED`, never reported as
 * corrupt files. With the DLIO layout, TFRecord runs also wrote an index file per file
 * (`index/<split>/<file>.idx`): it is checked against its regeneration too (a result of its own).
 *
 * Uncompressed files in a directory of a format whose files are literal bytes around generated ranges
 * (`localSegments`: NPZ, HDF5, safetensors) skip the lockstep: batches of them go to the worker pool, which compares each
 * file with its segments (cpp/file_verifier.h; {@link verifyLocalFormatFiles}) and returns the verdict and
 * the expected file's CRC-32C, judged against the record as above. A file whose expected CRC-32C is not
 * the record's is streamed as above (its verdict needs the file's own CRC-32C).
 * @module
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dgenError, type DgenRuntimeError } from './errors.js';
import { binding } from './native.js';
import { createDecompressor } from './compression.js';
import type { Manifest, ManifestRecord } from './manifest.js';
import { createFormatFile, FILE_FORMATS, type FileFormat, type FormatFile, type TfrecordFile } from './formats/index.js';
import type { Backends, Target } from './backends/index.js';
import { openObjectFile } from './verify-open.js';
import type { VerifyObjectResult } from './verify.js';
import { verifyLocalSegmentFiles } from './local-verifier.js';

/** What verify found for one file: a verify report's object result without its name and URI (one
 * definition of the fields, in lib/verify.ts). */
export type FormatVerdict = Omit<VerifyObjectResult, 'name' | 'uri'>;

/** An `ERR_DGEN_MANIFEST_UNSUPPORTED` error naming the manifest and the field. */
export type UnsupportedManifestError = DgenRuntimeError & { location: string; field: string };

function unsupported(location: string, field: string, why: string, cause?: unknown): UnsupportedManifestError {
  return dgenError(
    'ERR_DGEN_MANIFEST_UNSUPPORTED',
    `${location}: ${field}: ${why}; verify cannot make this manifest's files again, so it does not judge them`,
    cause,
    { location, field },
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The parts of a format manifest verify uses, checked. */
export interface FormatRegeneration {
  format: FileFormat;
  layout: 'dlio' | 'flat';
  /** The file of a record, made again (nothing generated yet).
   * @throws {@link UnsupportedManifestError} when this version makes it in another size than recorded. */
  file(record: ManifestRecord): Promise<FormatFile>;
  /** The companion (TFRecord index) of a record's file, if the run wrote one: its name and bytes. */
  companion(record: ManifestRecord, file: FormatFile): { name: string; content: Buffer } | undefined;
  /** Whether a name under the target is a companion of a listed file (not an extra). */
  isCompanion(name: string, listed: (name: string) => boolean): boolean;
  /** Whether the format's files are laid out by segments (`localSegments`), so uncompressed files in a
   * directory can be checked on the worker pool ({@link verifyLocalFormatFiles}). */
  segmented: boolean;
}

/** `index/<split>/<file>.idx`: a TFRecord index of the DLIO layout. */
const INDEX_NAME = /^index\/((?:train|valid)\/[^/]+\.tfrecord)\.idx$/;

/**
 * Reads a manifest's `fileFormat` (it is untrusted, and older or other versions may lack fields): the
 * format, its parameters and the run's data parameters must let this version's writer make the first file
 * in the size the manifest states.
 * @param location - names the manifest in errors.
 * @returns undefined for a manifest without `fileFormat` (raw objects).
 * @throws {@link UnsupportedManifestError} (`ERR_DGEN_MANIFEST_UNSUPPORTED`, `field` the one at fault):
 *   `fileFormat` not an object, an unknown `format`, `formatOptions` missing or not an object, a `layout`
 *   other than `dlio`/`flat`, dataset dedup scope, format parameters this version refuses (the format
 *   error is the `cause`), or files of another size than the manifest's `size`.
 */
export async function formatRegeneration(manifest: Manifest, location: string): Promise<FormatRegeneration | undefined> {
  const spec = (manifest as { fileFormat?: unknown }).fileFormat;
  if (spec === undefined) return undefined;
  if (!isPlainObject(spec)) throw unsupported(location, 'fileFormat', 'not an object');
  const format = spec.format;
  if (typeof format !== 'string' || !(FILE_FORMATS as readonly string[]).includes(format))
    throw unsupported(location, 'fileFormat.format', `${JSON.stringify(format)} is not one of ${FILE_FORMATS.join(', ')}`);
  if (!isPlainObject(spec.formatOptions))
    throw unsupported(
      location,
      'fileFormat.formatOptions',
      "absent or not an object (the format's parameters: a manifest from a version that did not record them)",
    );
  const layout = spec.layout ?? 'dlio';
  if (layout !== 'dlio' && layout !== 'flat')
    throw unsupported(location, 'fileFormat.layout', `${JSON.stringify(layout)} is not "dlio" or "flat"`);
  if (manifest.dedupScope !== 'object')
    throw unsupported(location, 'dedupScope', `"${manifest.dedupScope}": format files dedup each on its own ("object")`);
  const formatOptions = spec.formatOptions;
  const data = {
    seed: manifest.seed,
    dedupRatio: manifest.dedupRatio,
    compressRatio: manifest.compressRatio,
    ...(manifest.ratioCodec !== undefined && { ratioCodec: manifest.ratioCodec }),
    dedupUnit: manifest.dedupUnit,
  };
  // As putFormatObjects makes them (formatObjectFor): the format's parameters, then the run's data options.
  const make = async (objectId: string): Promise<FormatFile> => {
    try {
      return await createFormatFile(format, { ...formatOptions, ...data, objectId });
    } catch (err) {
      throw unsupported(location, 'fileFormat.formatOptions', `this version refuses them (${(err as Error).message})`, err);
    }
  };
  const first = await make('0');
  const stated =
    typeof manifest.size === 'number' ? manifest.size : /^\d+$/.test(manifest.size) ? Number(manifest.size) : undefined;
  if (stated !== undefined && stated !== first.size)
    throw unsupported(
      location,
      'size',
      `this version's ${format} writer makes ${first.size}-byte files from these parameters, the manifest says ${stated} (written by ${manifest.tool})`,
    );
  return {
    format: format as FileFormat,
    layout,
    segmented: first.localSegments !== undefined,
    async file(record) {
      const file = record.objectId === '0' ? first : await make(record.objectId);
      if (file.size !== record.size)
        throw unsupported(
          location,
          'size',
          `this version's ${format} writer makes ${record.name} in ${file.size} bytes, its record says ${record.size} (written by ${manifest.tool})`,
        );
      return file;
    },
    companion(record, file) {
      if (format !== 'tfrecord' || layout !== 'dlio') return undefined;
      const slash = record.name.indexOf('/');
      if (slash < 0) return undefined;
      return { name: `index/${record.name}.idx`, content: Buffer.from((file as TfrecordFile).indexText()) };
    },
    isCompanion(name, listed) {
      if (format !== 'tfrecord' || layout !== 'dlio') return false;
      const m = INDEX_NAME.exec(name);
      return m !== null && listed(m[1]!);
    },
  };
}

/** Thrown into a read to stop it once the verdict is known. */
const STOP = Object.freeze(new Error('verdict known'));

/** The bytes of a Readable of generated file bytes, handed out in pieces of at most n bytes. */
function pieces(stream: Readable): (n: number) => Promise<Buffer> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let pending: Buffer = Buffer.alloc(0);
  return async (n) => {
    while (pending.length === 0) {
      const r = await it.next();
      if (r.done) return pending;
      pending = r.value;
    }
    const piece = pending.subarray(0, Math.min(n, pending.length));
    pending = pending.subarray(piece.length);
    return piece;
  };
}

/** Where verify reads a file: the canonical local directory (files opened by {@link openObjectFile}), or
 * the run's backends (object stores). */
export interface FileAccess {
  root?: string;
  backends: Backends;
}

/** Opens a file or object: its stream and, for a local file, its size; or the verdict already. */
async function openActual(
  target: Target,
  name: string,
  access: FileAccess,
): Promise<{ source: Readable; fileSize?: number } | FormatVerdict> {
  try {
    if (access.root === undefined) return { source: await access.backends.open(target) };
    const opened = await openObjectFile(access.root, name);
    if ('status' in opened) return opened;
    return {
      source: opened.handle.createReadStream({
        highWaterMark: 4 * 1024 * 1024,
        start: 0,
        ...(opened.size > 0 && { end: opened.size - 1 }),
        autoClose: true,
      }),
      fileSize: opened.size,
    };
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_DGEN_NOT_FOUND') return { status: 'missing' };
    return { status: 'error', error: (err as Error).message };
  }
}

/**
 * Compares one file of a format run with its regeneration, as described in the module documentation.
 * Reads at most the record's size + 1 bytes (a longer file is `size` with `actualSize` the bytes read,
 * except local uncompressed files, whose size comes from fstat and decides before any read).
 * @param expected - the file made again ({@link FormatRegeneration.file}).
 * @param compression - the run's compression: stored files are decompressed before the comparison.
 */
export async function compareFormatFile(
  record: Pick<ManifestRecord, 'name' | 'size' | 'crc32c'>,
  expected: FormatFile | Buffer,
  target: Target,
  compression: Manifest['compression']['algorithm'],
  access: FileAccess,
): Promise<FormatVerdict> {
  const size = record.size;
  const opened = await openActual(target, record.name, access);
  if ('status' in opened) return opened;
  const { source, fileSize } = opened;
  if (compression === 'none' && fileSize !== undefined && fileSize !== size) {
    source.destroy();
    return { status: 'size', expectedSize: size, actualSize: fileSize };
  }
  const regenerated = Buffer.isBuffer(expected) ? undefined : expected.stream();
  let at = 0; // the next byte of a Buffer regeneration
  const take = regenerated
    ? pieces(regenerated)
    : async (n: number) => {
        const piece = (expected as Buffer).subarray(at, at + n);
        at += piece.length;
        return piece;
      };
  let offset = 0;
  let first: number | undefined;
  /** CRC-32C of the bytes both had in common; after the first difference, of each stream on its own. */
  let crc = 0;
  let crcActual = 0;
  let crcExpected = 0;
  const consume = async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      const n = Math.min(chunk.length, Math.max(0, size - offset));
      for (let pos = 0; pos < n; ) {
        const want = await take(n - pos);
        if (want.length === 0) throw new Error(`the regenerated ${record.name} ended before ${size} bytes`);
        const got = chunk.subarray(pos, pos + want.length);
        if (first === undefined && !want.equals(got)) {
          let i = 0;
          while (want[i] === got[i]) i++;
          first = offset + pos + i;
          crcActual = crcExpected = crc;
        }
        if (first === undefined) crc = binding.crc32c(got, crc);
        else {
          crcActual = binding.crc32c(got, crcActual);
          crcExpected = binding.crc32c(want, crcExpected);
        }
        pos += want.length;
      }
      offset += chunk.length;
      if (offset > size) throw STOP; // longer than recorded: the verdict is known
    }
  };
  try {
    if (compression === 'none') await pipeline(source, consume);
    else await pipeline(source, createDecompressor(compression), consume);
  } catch (err) {
    if (err !== STOP) return { status: 'error', error: (err as Error).message };
  } finally {
    source.destroy();
    regenerated?.destroy();
  }
  if (offset !== size)
    return {
      status: 'size',
      expectedSize: size,
      actualSize: compression === 'none' && fileSize !== undefined ? fileSize : offset,
    };
  if (first === undefined) crcActual = crcExpected = crc;
  const recorded = Number.parseInt(record.crc32c, 16) >>> 0;
  if (crcExpected >>> 0 === recorded)
    return first === undefined ? { status: 'ok', check: 'bytes' } : { status: 'mismatch', offset: first, check: 'bytes' };
  const hex = (v: number) => (v >>> 0).toString(16).padStart(8, '0');
  const note =
    `this version makes the file with CRC-32C ${hex(crcExpected)}, its record says ${record.crc32c}: ` +
    'the format writer changed since the run, or the record was altered; the file is judged by the record alone';
  return crcActual >>> 0 === recorded
    ? { status: 'ok', check: 'crc32c', note }
    : { status: 'mismatch', check: 'crc32c', note: `CRC-32C ${hex(crcActual)} differs from its record's (${note})` };
}

/**
 * Checks a batch of a format run's uncompressed files in a local directory: those whose format has
 * segments on the worker pool (see the module documentation), the others, and any whose expected CRC-32C
 * is not its record's, through {@link compareFormatFile}. The verdicts are those {@link compareFormatFile}
 * gives for the same files.
 * @param regeneration - the run's {@link formatRegeneration}.
 * @param root - the canonical target directory.
 * @param targetOf - a record's target (for the streamed files).
 * @returns per record, in order, its file made again and the verdict.
 * @throws {@link UnsupportedManifestError} when this version makes a file in another size than recorded.
 */
export async function verifyLocalFormatFiles(
  manifest: Manifest,
  regeneration: FormatRegeneration,
  records: readonly ManifestRecord[],
  root: string,
  targetOf: (record: ManifestRecord) => Target,
  backends: Backends,
): Promise<{ file: FormatFile; verdict: FormatVerdict }[]> {
  const files: FormatFile[] = [];
  for (const record of records) files.push(await regeneration.file(record));
  const native = files.flatMap((file, i) => (file.localSegments ? [i] : []));
  const verdicts = await verifyLocalSegmentFiles(
    manifest,
    native.map((i) => ({
      name: records[i]!.name,
      objectId: records[i]!.objectId,
      streamSize: files[i]!.generator.size,
      ...files[i]!.localSegments!(),
    })),
    root,
  );
  const out: (FormatVerdict | undefined)[] = new Array(records.length);
  native.forEach((i, k) => {
    const v = verdicts[k]!;
    const record = records[i]!;
    const recorded = Number.parseInt(record.crc32c, 16) >>> 0;
    const same = v.crc32c !== undefined && Number.parseInt(v.crc32c, 16) === recorded;
    if (v.status === 'ok' && same) out[i] = { status: 'ok', check: 'bytes' };
    else if (v.status === 'mismatch' && same) out[i] = { status: 'mismatch', offset: v.offset!, check: 'bytes' };
    else if (v.status === 'size') out[i] = { status: 'size', expectedSize: record.size, actualSize: v.actualSize! };
    else if (v.status === 'missing') out[i] = { status: 'missing' };
    else if (v.status === 'error') out[i] = { status: 'error', error: v.error! };
    // ok or mismatch against a file this version's writer would not make: judged by the record's CRC-32C.
  });
  // One at a time: the rare files streamed here must not open a batch's worth of files at once.
  const results: { file: FormatFile; verdict: FormatVerdict }[] = [];
  for (const [i, record] of records.entries())
    results.push({
      file: files[i]!,
      verdict: out[i] ?? (await compareFormatFile(record, files[i]!, targetOf(record), 'none', { root, backends })),
    });
  return results;
}
