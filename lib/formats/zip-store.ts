/**
 * A ZIP archive of stored (uncompressed) members whose sizes are known up front, written as one byte
 * stream: per member a local file header (with optional extra-field padding), the data, a data descriptor;
 * then the central directory and the end records (ZIP64 where a size or offset needs it). Layout per
 * PKWARE's APPNOTE.TXT 6.3 (sections 4.3.7 local header, 4.3.9 data descriptor, 4.3.12 central directory,
 * 4.3.14-4.3.16 end records, 4.5.3 ZIP64 extra field), with the same choices yazl makes for streamed
 * members (general purpose bits 3 and 11, no ZIP64 field in local headers, all three ZIP64 values in the
 * central directory), so readers that took yazl's NPZ files take these.
 *
 * Why not yazl (used before): its streamed members go through four Transform pipes per chunk and its
 * CRC-32 is buffer-crc32's byte-at-a-time JavaScript loop, about 0.1 GB/s here, which held an NPZ put to
 * 0.31x of a raw put of the same bytes. Neither yazl nor zip-stream/compress-commons takes a CRC from the
 * caller for streamed data, and @zip.js/zip.js takes one only before the data (we learn it after). Here the
 * CRC is node:zlib's native `crc32` (zlib's, about 1.5-5 GB/s) computed as the data passes, with no extra
 * pipe. It also lets a member's data start at any alignment through extra-field padding (the way Android's
 * zipalign does it, header ID 0xD935), which NPY header padding alone cannot do past NumPy's header limit.
 * @module
 */
import { crc32 } from 'node:zlib';

/** ZIP local file header before the name (APPNOTE 4.3.7). */
export const ZIP_LOCAL_HEADER = 30;
/** Central directory file header before the name (APPNOTE 4.3.12). */
const CENTRAL_HEADER = 46;
/** Largest extra field of one header (its length is 16 bits). */
export const ZIP_MAX_EXTRA = 0xffff;
/** Header ID of the padding extra field: zipalign's (Android), ignored by every reader as unknown. */
const PADDING_ID = 0xd935;
/** Sizes and offsets at or above this need ZIP64 (yazl's limit: 0xffffffff itself means "see ZIP64"). */
const ZIP64_LIMIT = 0xfffffffe;
const VERSION_MADE_BY = (3 << 8) | 63; // Unix, APPNOTE 6.3
const VERSION_NEEDED = 20;
const VERSION_NEEDED_ZIP64 = 45;
const FLAGS = (1 << 3) | (1 << 11); // CRC and sizes in the data descriptor; UTF-8 names
const EXTERNAL_ATTRIBUTES = (0o100664 << 16) >>> 0; // a regular file, rw-rw-r--
/** DOS date of 2020-01-01 00:00:00 (fixed, so that the same parameters give the same bytes). */
const DOS_DATE = ((2020 - 1980) << 9) | (1 << 5) | 1;
const DOS_TIME = 0;

/** One member of a stored ZIP archive. */
export interface StoredMember {
  /** Member name (UTF-8; NumPy's `np.load` uses `x.npy`-style names). */
  name: string;
  /** Exact bytes of its data. */
  size: number;
  /** Bytes of padding in the local header's extra field, to move the data's start: 0, or 4 to
   * {@link ZIP_MAX_EXTRA} (an extra field has a 4-byte header). Default 0. */
  padding?: number;
  /** Its data, exactly `size` bytes in total, pulled when the member is written. */
  data: () => AsyncIterable<Buffer>;
}

interface Placed {
  name: Buffer;
  size: number;
  padding: number;
  offset: number;
  zip64: boolean;
}

/** Where every member goes, the central directory and the total size; no data is touched. */
function place(members: readonly StoredMember[], forceZip64: boolean) {
  let offset = 0;
  const placed: Placed[] = [];
  for (const m of members) {
    const padding = m.padding ?? 0;
    if (!Number.isSafeInteger(padding) || (padding !== 0 && (padding < 4 || padding > ZIP_MAX_EXTRA))) {
      throw new RangeError(`ZIP padding of ${m.name} must be 0 or 4..${ZIP_MAX_EXTRA}; got ${padding}`);
    }
    const name = Buffer.from(m.name, 'utf8');
    const zip64 = forceZip64 || m.size > ZIP64_LIMIT || offset > ZIP64_LIMIT;
    placed.push({ name, size: m.size, padding, offset, zip64 });
    offset += ZIP_LOCAL_HEADER + name.length + padding + m.size + (zip64 ? 24 : 16);
  }
  const directoryOffset = offset;
  const directorySize = placed.reduce((n, p) => n + CENTRAL_HEADER + p.name.length + (p.zip64 ? 28 : 0), 0);
  const zip64End = forceZip64 || placed.length >= 0xffff || directoryOffset > ZIP64_LIMIT || directorySize > ZIP64_LIMIT;
  const size = directoryOffset + directorySize + (zip64End ? 56 + 20 : 0) + 22;
  return { placed, directoryOffset, directorySize, zip64End, size };
}

/** The layout of a stored ZIP archive: its exact size and the file offset of each member's first data byte. */
export function storedZipLayout(members: readonly StoredMember[], forceZip64 = false): { size: number; dataOffsets: number[] } {
  const { placed, size } = place(members, forceZip64);
  return { size, dataOffsets: placed.map((p) => p.offset + ZIP_LOCAL_HEADER + p.name.length + p.padding) };
}

function localHeader(p: Placed): Buffer {
  const b = Buffer.alloc(ZIP_LOCAL_HEADER + p.name.length + p.padding);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(VERSION_NEEDED, 4);
  b.writeUInt16LE(FLAGS, 6);
  b.writeUInt16LE(0, 8); // stored
  b.writeUInt16LE(DOS_TIME, 10);
  b.writeUInt16LE(DOS_DATE, 12);
  // CRC and sizes (14..25) stay 0: bit 3 says they are in the data descriptor.
  b.writeUInt16LE(p.name.length, 26);
  b.writeUInt16LE(p.padding, 28);
  p.name.copy(b, ZIP_LOCAL_HEADER);
  if (p.padding) {
    const at = ZIP_LOCAL_HEADER + p.name.length;
    b.writeUInt16LE(PADDING_ID, at);
    b.writeUInt16LE(p.padding - 4, at + 2);
  }
  return b;
}

function dataDescriptor(p: Placed, crc: number): Buffer {
  const b = Buffer.alloc(p.zip64 ? 24 : 16);
  b.writeUInt32LE(0x08074b50, 0);
  b.writeUInt32LE(crc, 4);
  if (p.zip64) {
    b.writeBigUInt64LE(BigInt(p.size), 8);
    b.writeBigUInt64LE(BigInt(p.size), 16);
  } else {
    b.writeUInt32LE(p.size, 8);
    b.writeUInt32LE(p.size, 12);
  }
  return b;
}

function centralHeader(p: Placed, crc: number): Buffer {
  const b = Buffer.alloc(CENTRAL_HEADER + p.name.length + (p.zip64 ? 28 : 0));
  const small = (n: number) => (p.zip64 ? 0xffffffff : n);
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE(VERSION_MADE_BY, 4);
  b.writeUInt16LE(p.zip64 ? VERSION_NEEDED_ZIP64 : VERSION_NEEDED, 6);
  b.writeUInt16LE(FLAGS, 8);
  b.writeUInt16LE(0, 10);
  b.writeUInt16LE(DOS_TIME, 12);
  b.writeUInt16LE(DOS_DATE, 14);
  b.writeUInt32LE(crc, 16);
  b.writeUInt32LE(small(p.size), 20);
  b.writeUInt32LE(small(p.size), 24);
  b.writeUInt16LE(p.name.length, 28);
  b.writeUInt16LE(p.zip64 ? 28 : 0, 30);
  // comment length, disk number, internal attributes (32..37) stay 0
  b.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
  b.writeUInt32LE(small(p.offset), 42);
  p.name.copy(b, CENTRAL_HEADER);
  if (p.zip64) {
    const at = CENTRAL_HEADER + p.name.length;
    b.writeUInt16LE(0x0001, at);
    b.writeUInt16LE(24, at + 2);
    b.writeBigUInt64LE(BigInt(p.size), at + 4);
    b.writeBigUInt64LE(BigInt(p.size), at + 12);
    b.writeBigUInt64LE(BigInt(p.offset), at + 20);
  }
  return b;
}

function endRecords(count: number, directoryOffset: number, directorySize: number, zip64: boolean): Buffer {
  const parts: Buffer[] = [];
  if (zip64) {
    const r = Buffer.alloc(56);
    r.writeUInt32LE(0x06064b50, 0);
    r.writeBigUInt64LE(44n, 4); // size of the rest of this record
    r.writeUInt16LE(VERSION_MADE_BY, 12);
    r.writeUInt16LE(VERSION_NEEDED_ZIP64, 14);
    // disk numbers (16..23) stay 0
    r.writeBigUInt64LE(BigInt(count), 24);
    r.writeBigUInt64LE(BigInt(count), 32);
    r.writeBigUInt64LE(BigInt(directorySize), 40);
    r.writeBigUInt64LE(BigInt(directoryOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(directoryOffset + directorySize), 8);
    locator.writeUInt32LE(1, 16); // total disks
    parts.push(r, locator);
  }
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0);
  e.writeUInt16LE(zip64 ? 0xffff : count, 8);
  e.writeUInt16LE(zip64 ? 0xffff : count, 10);
  e.writeUInt32LE(zip64 ? 0xffffffff : directorySize, 12);
  e.writeUInt32LE(zip64 ? 0xffffffff : directoryOffset, 16);
  parts.push(e);
  return Buffer.concat(parts);
}

/**
 * The archive's bytes, member by member, each member's data pulled from its `data()` as the stream is
 * read (memory: the data's own chunks plus headers of a few bytes; the central directory is kept until
 * the end, one small record per member).
 * @param forceZip64 - write ZIP64 records even where sizes and offsets do not need them (for tests).
 * @throws Error when a member's data is not exactly its `size` bytes (the archive would be corrupt).
 */
export async function* storedZip(members: readonly StoredMember[], forceZip64 = false): AsyncGenerator<Buffer> {
  const { placed, directoryOffset, directorySize, zip64End } = place(members, forceZip64);
  const central: Buffer[] = [];
  for (const [i, m] of members.entries()) {
    const p = placed[i]!;
    yield localHeader(p);
    let crc = 0;
    let bytes = 0;
    for await (const chunk of m.data()) {
      crc = crc32(chunk, crc);
      bytes += chunk.length;
      yield chunk;
    }
    if (bytes !== m.size) throw new Error(`ZIP member ${m.name}: ${bytes} bytes of data, ${m.size} declared`);
    yield dataDescriptor(p, crc);
    central.push(centralHeader(p, crc));
  }
  yield Buffer.concat([...central, endRecords(members.length, directoryOffset, directorySize, zip64End)]);
}

/** Generated bytes [offset, offset + length) of a file's stream (its generator), as a part of a member. */
export interface GeneratedRange {
  offset: number;
  length: number;
}

/** One member of {@link storedZipSegments}: its data as literal parts and generated ranges, in order. */
export interface SegmentedMember {
  name: string;
  /** As {@link StoredMember.padding}. */
  padding?: number;
  parts: readonly (Buffer | GeneratedRange)[];
}

/** A stored ZIP archive as segments for the native local writer (lib/local-writer.ts): literal bytes and
 * generated ranges in file order, and the CRC-32 fields the writer computes and patches in. */
export interface ZipSegments {
  segments: (Buffer | GeneratedRange)[];
  crc32Fields: { first: number; end: number; at: [segment: number, offset: number][] }[];
  size: number;
}

/**
 * The same archive {@link storedZip} streams, byte for byte, as segments: headers, literal data and end
 * records as Buffers, generated data as ranges. A member with generated data gets a CRC-32 field over its
 * data segments, patched into its data descriptor (offset 4) and its central directory header (offset 16);
 * a member of literal data only has its CRC computed here (node:zlib).
 */
export function storedZipSegments(members: readonly SegmentedMember[], forceZip64 = false): ZipSegments {
  const sized = members.map((m) => ({
    name: m.name,
    padding: m.padding,
    size: m.parts.reduce((n, p) => n + p.length, 0),
    data: async function* () {},
  }));
  const { placed, directoryOffset, directorySize, zip64End, size } = place(sized, forceZip64);
  const segments: ZipSegments['segments'] = [];
  const crc32Fields: ZipSegments['crc32Fields'] = [];
  const central: Buffer[] = [];
  const pending: { field: ZipSegments['crc32Fields'][number]; at: number }[] = [];
  let centralLength = 0;
  for (const [i, m] of members.entries()) {
    const p = placed[i]!;
    segments.push(localHeader(p));
    const first = segments.length;
    let crc = 0;
    const literal = m.parts.every((part) => Buffer.isBuffer(part));
    for (const part of m.parts) {
      if (literal) crc = crc32(part as Buffer, crc);
      segments.push(part);
    }
    segments.push(dataDescriptor(p, crc));
    central.push(centralHeader(p, crc));
    if (!literal) {
      const field = { first, end: segments.length - 1, at: [[segments.length - 1, 4]] as [number, number][] };
      crc32Fields.push(field);
      pending.push({ field, at: centralLength + 16 });
    }
    centralLength += central.at(-1)!.length;
  }
  segments.push(Buffer.concat([...central, endRecords(members.length, directoryOffset, directorySize, zip64End)]));
  for (const { field, at } of pending) field.at.push([segments.length - 1, at]);
  return { segments, crc32Fields, size };
}
