/**
 * The URIs of the local file backend (file.ts): `file:///path`, plain paths, and `direct:///path`. Pure
 * functions with no import of the sinks, so that the sinks (FileSink, DirectFileSink) format their URIs
 * with them while file.ts creates those sinks.
 * @module
 */
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A local file or directory: `file` (buffered I/O) or `direct` (O_DIRECT writes). */
export type FileTarget = { scheme: 'file'; path: string } | { scheme: 'direct'; path: string };

/** A plain path (no scheme) as a target, resolved against the working directory. */
export function parsePath(path: string): FileTarget {
  return { scheme: 'file', path: resolve(path) };
}

/**
 * The target of `file://` or `direct://` followed by `rest`.
 * @returns the target, or why the URI is malformed.
 */
export function parseFileUri(scheme: 'file' | 'direct', rest: string): FileTarget | string {
  if (!rest.startsWith('/')) return `${scheme}:// needs an absolute path (three slashes)`;
  return { scheme, path: fileURLToPath(`file://${rest}`) };
}

/** The URI of a file target: `file:///...` (percent-encoded as a file URL) or `direct:///...`. */
export function formatFileTarget(target: FileTarget): string {
  return target.scheme === 'file' ? pathToFileURL(target.path).href : `direct://${target.path}`;
}

/** The file `name` (may hold `/`) under a directory target. */
export function fileChild(prefix: FileTarget, name: string): FileTarget {
  return { ...prefix, path: join(prefix.path, name) };
}
