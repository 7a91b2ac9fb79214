/**
 * What `dgen analyze` reads: files, directories (recursively, in name order), and objects under URIs
 * (`file://`, `s3://bucket/prefix`, `az://container/prefix`, parsed by the sinks' URI factory).
 *
 * Only regular files and objects are data. An input named on its own that is something else (a FIFO,
 * a character or block device such as `/dev/zero`, a socket; `/dev/stdin` is a pipe or a terminal) is
 * refused before anything is read, with `ERR_DGEN_INVALID_INPUT`: reading one would hang (a FIFO without
 * a writer), never end (`/dev/zero`) or measure nothing (`/dev/null`). Inside a directory such entries,
 * and symbolic links (never followed: a link can lead out of the tree or into a loop), are skipped and
 * reported through `onSkip`. So are the files `dgen put` itself leaves under a target, unless asked for
 * by name: its manifests (`dgen-manifest*.json`, `dgen-manifest*.ndjson`) and the `.dgen-partial`
 * temporary files of an unfinished put. Files are opened with O_NONBLOCK and checked with fstat on the
 * open descriptor, so an entry swapped for a FIFO after the listing is refused, not waited on.
 * @module
 */
import { constants, createReadStream, type Dirent, type Stats } from 'node:fs';
import { lstat, open, opendir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import { once } from 'node:events';
import { formatTarget, parseTarget, type Target } from '../sinks/uri.js';
import type { S3ConnectionOptions } from '../sinks/s3-sink.js';
import type { AzureConnectionOptions } from '../sinks/azure-sink.js';
import { azureBackend, loadBackend, s3Backend } from '../sinks/backends.js';
import type { DgenErrorCode } from '../errors.js';

/** One input: where it is, its size when known, and how to read it. */
export interface Input {
  uri: string;
  size?: number;
  open(): Promise<Readable>;
}

/** What the listing does with entries that are not data. */
export interface ListOptions {
  /**
   * Skip the files `dgen put` leaves under a target (manifests, `.dgen-partial` files) when they are
   * found in a directory or under a prefix; a file named on its own, or a prefix that itself starts with
   * `dgen-manifest`, is always read. Default true.
   */
  skipDgenFiles?: boolean;
  /** Called for every entry of a directory or prefix that is skipped, with its URI and why. */
  onSkip?: (uri: string, reason: string) => void;
}

/** Connection options for object-store inputs, and what the listing skips. */
export type InputOptions = S3ConnectionOptions & AzureConnectionOptions & ListOptions;

/** The code of {@link invalidInput} errors (to be added to `DgenErrorCode`). */
const INVALID_INPUT = 'ERR_DGEN_INVALID_INPUT' as DgenErrorCode;

/**
 * The error for an input that is not a regular file, a directory or an object: TypeError
 * `ERR_DGEN_INVALID_INPUT`, `parameter` `inputs`, `value` the input as given.
 */
export function invalidInput(input: string, kind: string): TypeError & { code: DgenErrorCode; parameter: string; value: string } {
  const err = new TypeError(`${input} is ${kind}: only regular files, directories and objects can be read as data`);
  return Object.assign(err, { code: INVALID_INPUT, parameter: 'inputs', value: input });
}

/** What a file-system entry is, in words. */
function kindOf(st: Stats | Dirent): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/** Manifests and records of `dgen put` (version 1 and 2, shards, merged), and its temporary files. */
const DGEN_FILE = /^dgen-manifest.*\.(?:json|ndjson)$|\.dgen-partial$/;

function dgenFileReason(name: string): string | undefined {
  if (!DGEN_FILE.test(name)) return undefined;
  if (name.endsWith('.dgen-partial')) return 'a temporary file of an unfinished dgen put';
  return name.endsWith('.ndjson') ? 'the records of a dgen manifest' : 'a dgen manifest';
}

/**
 * A local file as an input: opened with O_NONBLOCK (a FIFO put in its place must not block the open),
 * without following a final link when `noFollow`, and read only if fstat on the descriptor says it is a
 * regular file.
 */
function fileInput(path: string, size: number, noFollow: boolean): Input {
  const uri = pathToFileURL(path).href;
  return {
    uri,
    size,
    open: async () => {
      const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | (noFollow ? constants.O_NOFOLLOW : 0)).catch((err: { code?: string }) => {
        throw err.code === 'ELOOP' && noFollow ? invalidInput(path, 'a symbolic link') : err;
      });
      try {
        const st = await handle.stat();
        if (!st.isFile()) throw invalidInput(path, kindOf(st));
      } catch (err) {
        await handle.close();
        throw err;
      }
      return handle.createReadStream({ highWaterMark: 4 * 1024 * 1024, autoClose: true });
    },
  };
}

/** The regular files under a directory, recursively in name order, never following a link. */
async function* walkDirectory(path: string, options: ListOptions): AsyncGenerator<Input> {
  const entries: Dirent[] = [];
  for await (const entry of await opendir(path)) entries.push(entry);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const child = join(path, entry.name);
    // Some file systems do not say an entry's type in the listing: ask without following a link.
    const type: Stats | Dirent = entry.isFile() || entry.isDirectory() || entry.isSymbolicLink() || entry.isFIFO() || entry.isSocket() || entry.isCharacterDevice() || entry.isBlockDevice() ? entry : await lstat(child);
    if (type.isDirectory()) {
      yield* walkDirectory(child, options);
      continue;
    }
    const skip = !type.isFile()
      ? type.isSymbolicLink()
        ? 'a symbolic link (links inside directories are not followed)'
        : `${kindOf(type)} (only regular files are read)`
      : options.skipDgenFiles !== false
        ? dgenFileReason(entry.name)
        : undefined;
    if (skip) {
      options.onSkip?.(pathToFileURL(child).href, skip);
      continue;
    }
    yield fileInput(child, (await lstat(child)).size, true);
  }
}

/** Checks a local input named on its own (links followed): a regular file or a directory. */
async function checkLocal(path: string, spec: string): Promise<Stats> {
  const info = await stat(path);
  if (!info.isFile() && !info.isDirectory()) throw invalidInput(spec, kindOf(info));
  return info;
}

/** Whether an object key found under a prefix is one of dgen's own files to skip, and why. */
function skipObject(key: string, prefix: string, options: ListOptions): string | undefined {
  if (options.skipDgenFiles === false || basename(prefix).startsWith('dgen-manifest')) return undefined;
  return dgenFileReason(key.slice(key.lastIndexOf('/') + 1));
}

/**
 * The inputs named by `specs`, in order. Every local input named on its own is checked before the first
 * is listed, so a bad one stops the run before anything is read.
 * @throws TypeError `ERR_DGEN_INVALID_INPUT` (`parameter` `inputs`) for a local input that is not a
 *   regular file or a directory (a FIFO, a device, a socket); `ERR_DGEN_INVALID_URI` for a malformed URI;
 *   file-system and SDK errors as they come (`ENOENT` for a missing path).
 */
export async function* listInputs(specs: string[], options: InputOptions = {}): AsyncGenerator<Input> {
  const targets = specs.map((spec) => parseTarget(spec, true));
  const local = new Map<number, Stats>();
  for (const [i, target] of targets.entries()) {
    if (target.scheme === 'file' || target.scheme === 'direct') local.set(i, await checkLocal(target.path, specs[i]!));
  }
  for (const [i, target] of targets.entries()) {
    if (target.scheme === 'file' || target.scheme === 'direct') {
      const info = local.get(i)!;
      // Named on its own: read even if it is one of dgen's files; a link given by name is followed.
      if (info.isFile()) yield fileInput(target.path, info.size, false);
      else yield* walkDirectory(target.path, options);
    } else if (target.scheme === 's3') {
      await loadBackend('s3');
      const { GetObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
      const client = s3Backend().createS3Client(options);
      try {
        let token: string | undefined;
        do {
          const page = await client.send(new ListObjectsV2Command({ Bucket: target.bucket, Prefix: target.key, ContinuationToken: token }));
          for (const o of page.Contents ?? []) {
            const key = o.Key!;
            const skip = skipObject(key, target.key, options);
            if (skip) {
              options.onSkip?.(`s3://${target.bucket}/${key}`, skip);
              continue;
            }
            yield {
              uri: `s3://${target.bucket}/${key}`,
              ...(o.Size !== undefined && { size: o.Size }),
              open: async () => (await client.send(new GetObjectCommand({ Bucket: target.bucket, Key: key }))).Body as Readable,
            };
          }
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
      } finally {
        client.destroy();
      }
    } else {
      await loadBackend('az');
      const container = azureBackend().createBlobServiceClient(options).getContainerClient(target.container);
      for await (const blob of container.listBlobsFlat({ prefix: target.blob })) {
        const skip = skipObject(blob.name, target.blob, options);
        if (skip) {
          options.onSkip?.(`az://${target.container}/${blob.name}`, skip);
          continue;
        }
        yield {
          uri: `az://${target.container}/${blob.name}`,
          ...(blob.properties.contentLength !== undefined && { size: blob.properties.contentLength }),
          open: async () => (await container.getBlobClient(blob.name).download()).readableStreamBody as Readable,
        };
      }
    }
  }
}

/** Error for an object or file that does not exist: `code` `ERR_DGEN_NOT_FOUND`, `cause` the backend's. */
export function notFound(uri: string, cause: unknown): Error & { code: string } {
  return Object.assign(new Error(`${uri} does not exist`, { cause }), { code: 'ERR_DGEN_NOT_FOUND' });
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; name?: string; statusCode?: number; $metadata?: { httpStatusCode?: number } };
  return e?.code === 'ENOENT' || e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.statusCode === 404 || e?.$metadata?.httpStatusCode === 404;
}

/**
 * Opens one object or file for reading.
 * @throws `ERR_DGEN_NOT_FOUND` when it does not exist; other file-system and SDK errors as they come.
 */
export async function openTarget(target: string | Target, options: InputOptions = {}): Promise<Readable> {
  const t = typeof target === 'string' ? parseTarget(target) : target;
  const uri = formatTarget(t);
  try {
    if (t.scheme === 'file' || t.scheme === 'direct') {
      const stream = createReadStream(t.path, { highWaterMark: 4 * 1024 * 1024 });
      await once(stream, 'open');
      return stream;
    }
    if (t.scheme === 's3') {
      await loadBackend('s3');
      const { GetObjectCommand } = await import('@aws-sdk/client-s3');
      const client = s3Backend().createS3Client(options);
      const out = await client.send(new GetObjectCommand({ Bucket: t.bucket, Key: t.key }));
      const body = out.Body as Readable;
      body.once('close', () => client.destroy());
      return body;
    }
    await loadBackend('az');
    const blob = azureBackend().createBlobServiceClient(options).getContainerClient(t.container).getBlobClient(t.blob);
    return (await blob.download()).readableStreamBody as Readable;
  } catch (err) {
    if (isNotFound(err)) throw notFound(uri, err);
    throw err;
  }
}

/** Reads a whole (small) object or file as UTF-8 text. */
export async function readText(target: string | Target, options: InputOptions = {}): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of await openTarget(target, options)) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
