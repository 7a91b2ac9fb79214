/**
 * Checks a bulk put makes before its first object, so that a run that cannot succeed stops at once with
 * one clear error and nothing created, instead of failing every object:
 * - the target accepts writes. Local targets: the target (or, when it does not exist yet, its nearest
 *   existing ancestor, which the run would create it under) is a directory that this process may write
 *   (`access(2)` with `W_OK | X_OK`, which also reports a read-only file system (`EROFS`) and an immutable
 *   directory (`EPERM`); nothing is created). S3 and Azure: one zero-byte object (blob) named
 *   `.dgen-probe-<random>` is written under the prefix and deleted again: the one request that proves
 *   both that the bucket (container) exists and that these credentials may write there (HeadBucket would
 *   only prove read access). On a versioned bucket the delete leaves a delete marker.
 * - the manifest location does not hold another run's manifest (unless overwriting or resuming).
 * Transient failures of the probe (a server that is restarting, throttling) are retried as objects are.
 *
 * Every error here carries `exitCode: 2` (the CLI's usage status) and a code:
 * `ERR_DGEN_TARGET_UNWRITABLE` (with the underlying `errno`/`syscall`/HTTP status where there is one, and
 * the cause), `ERR_DGEN_TARGET_IN_USE` (a manifest is there).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { BlobServiceClient } from '@azure/storage-blob';
import { childTarget, formatTarget, type Target } from './backends/index.js';
import { backoffMs, isTransient } from './retry.js';
import { s3Sdk } from './sinks/sdk.js';
import { dgenError } from './errors.js';

/** An error of a preflight check: exit status 2, a stable code, the cause's errno/syscall/status. */
export interface PreflightError extends Error {
  code: 'ERR_DGEN_TARGET_UNWRITABLE' | 'ERR_DGEN_TARGET_IN_USE';
  exitCode: 2;
  uri: string;
  errno?: number;
  syscall?: string;
  status?: number;
}

function preflightError(code: PreflightError['code'], uri: string, message: string, cause?: unknown): PreflightError {
  const c = (cause ?? {}) as {
    errno?: unknown;
    syscall?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: number };
    statusCode?: unknown;
  };
  const status = c.$metadata?.httpStatusCode ?? (typeof c.statusCode === 'number' ? c.statusCode : undefined);
  return dgenError(code, message, cause, {
    exitCode: 2 as const,
    uri,
    ...(typeof c.errno === 'number' && { errno: c.errno }),
    ...(typeof c.syscall === 'string' && { syscall: c.syscall }),
    ...(status !== undefined && { status }),
  }) as PreflightError;
}

/** The clients of the target's backend (made by the caller from the run's options). */
export interface PreflightClients {
  client?: S3Client;
  serviceClient?: BlobServiceClient;
}

/** Options of the retried requests. */
export interface PreflightRetry {
  attempts: number;
  retryBaseMs?: number;
  signal?: AbortSignal;
}

async function retried<T>(what: () => Promise<T>, retry: PreflightRetry): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await what();
    } catch (err) {
      if (n >= retry.attempts || !isTransient(err) || retry.signal?.aborted) throw err;
      await sleep(backoffMs(n + 1, retry.retryBaseMs), undefined, { signal: retry.signal });
    }
  }
}

const reason = (err: unknown) => (err instanceof Error ? err.message || err.name : String(err));

/**
 * Checks that the target accepts writes (see the module documentation); creates nothing that remains.
 * @throws {@link PreflightError} `ERR_DGEN_TARGET_UNWRITABLE`; the signal's reason.
 */
export async function probeTarget(prefix: Target, clients: PreflightClients, retry: PreflightRetry): Promise<void> {
  const uri = formatTarget(prefix);
  if (prefix.scheme === 'file' || prefix.scheme === 'direct') {
    // The deepest path that exists: the target, or the ancestor the run would create it under.
    let path = prefix.path;
    for (;;) {
      try {
        const stat = await lstat(path);
        if (!stat.isDirectory()) {
          const err = Object.assign(new Error(`ENOTDIR: not a directory, '${path}'`), {
            code: 'ENOTDIR',
            errno: -20,
            syscall: 'mkdir',
            path,
          });
          throw preflightError('ERR_DGEN_TARGET_UNWRITABLE', uri, `cannot write under ${uri}: ${path} is not a directory`, err);
        }
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== 'ENOENT') {
          if ((err as PreflightError).exitCode === 2) throw err;
          throw preflightError('ERR_DGEN_TARGET_UNWRITABLE', uri, `cannot write under ${uri}: ${reason(err)}`, err);
        }
        if (dirname(path) === path) break;
        path = dirname(path);
      }
    }
    try {
      await access(path, constants.W_OK | constants.X_OK);
    } catch (err) {
      throw preflightError('ERR_DGEN_TARGET_UNWRITABLE', uri, `cannot write under ${uri}: ${reason(err)}`, err);
    }
    return;
  }
  const probe = childTarget(prefix, `.dgen-probe-${randomBytes(6).toString('hex')}`);
  if (probe.scheme === 's3') {
    const { PutObjectCommand, DeleteObjectCommand } = s3Sdk();
    const client = clients.client!;
    try {
      await retried(
        () =>
          client.send(new PutObjectCommand({ Bucket: probe.bucket, Key: probe.key, Body: new Uint8Array(0), ContentLength: 0 }), {
            abortSignal: retry.signal,
          }),
        retry,
      );
    } catch (err) {
      const name = (err as { name?: string }).name;
      const why =
        name === 'NoSuchBucket'
          ? `the bucket ${probe.bucket} does not exist`
          : name === 'AccessDenied'
            ? 'access denied (these credentials may not write there)'
            : reason(err);
      throw preflightError(
        'ERR_DGEN_TARGET_UNWRITABLE',
        uri,
        `cannot write under ${uri}: ${why} (a zero-byte probe object ${formatTarget(probe)} could not be written)`,
        err,
      );
    }
    try {
      await retried(() => client.send(new DeleteObjectCommand({ Bucket: probe.bucket, Key: probe.key })), retry);
    } catch (err) {
      throw preflightError(
        'ERR_DGEN_TARGET_UNWRITABLE',
        uri,
        `the probe object ${formatTarget(probe)} was written but could not be deleted: ${reason(err)}`,
        err,
      );
    }
    return;
  }
  if (probe.scheme === 'az') {
    const blob = clients.serviceClient!.getContainerClient(probe.container).getBlockBlobClient(probe.blob);
    try {
      await retried(() => blob.upload(Buffer.alloc(0), 0, { abortSignal: retry.signal }), retry);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why =
        code === 'ContainerNotFound'
          ? `the container ${probe.container} does not exist`
          : code === 'AuthorizationFailure' || code === 'AuthenticationFailed'
            ? 'not authorized to write there'
            : reason(err);
      throw preflightError(
        'ERR_DGEN_TARGET_UNWRITABLE',
        uri,
        `cannot write under ${uri}: ${why} (a zero-byte probe blob ${formatTarget(probe)} could not be written)`,
        err,
      );
    }
    try {
      await retried(() => blob.delete(), retry);
    } catch (err) {
      throw preflightError(
        'ERR_DGEN_TARGET_UNWRITABLE',
        uri,
        `the probe blob ${formatTarget(probe)} was written but could not be deleted: ${reason(err)}`,
        err,
      );
    }
  }
}

/**
 * Whether an object (a manifest) exists at a target: `lstat` for files, HeadObject for S3, Get Blob
 * Properties for Azure.
 * @throws file-system and backend errors other than "not found".
 */
export async function objectExists(at: Target, clients: PreflightClients, retry: PreflightRetry): Promise<boolean> {
  if (at.scheme === 'file' || at.scheme === 'direct') {
    try {
      await lstat(at.path);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT' || (err as { code?: string }).code === 'ENOTDIR') return false;
      throw err;
    }
  }
  if (at.scheme === 's3') {
    const { HeadObjectCommand } = s3Sdk();
    try {
      await retried(() => clients.client!.send(new HeadObjectCommand({ Bucket: at.bucket, Key: at.key })), retry);
      return true;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  }
  return retried(() => clients.serviceClient!.getContainerClient(at.container).getBlobClient(at.blob).exists(), retry);
}

/** The size in bytes of an object at a target, or undefined when there is none (or it is not a regular file). */
export async function objectSize(at: Target, clients: PreflightClients, retry: PreflightRetry): Promise<number | undefined> {
  if (at.scheme === 'file' || at.scheme === 'direct') {
    try {
      const stat = await lstat(at.path);
      return stat.isFile() ? stat.size : undefined;
    } catch {
      return undefined;
    }
  }
  if (at.scheme === 's3') {
    const { HeadObjectCommand } = s3Sdk();
    try {
      const head = await retried(() => clients.client!.send(new HeadObjectCommand({ Bucket: at.bucket, Key: at.key })), retry);
      return head.ContentLength;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
      throw err;
    }
  }
  try {
    const props = await retried(
      () => clients.serviceClient!.getContainerClient(at.container).getBlobClient(at.blob).getProperties(),
      retry,
    );
    return props.contentLength;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/**
 * Refuses a manifest location that holds another run's manifest.
 * @throws {@link PreflightError} `ERR_DGEN_TARGET_IN_USE`.
 */
export async function refuseExistingManifest(
  manifestAt: Target,
  clients: PreflightClients,
  retry: PreflightRetry,
): Promise<void> {
  if (await objectExists(manifestAt, clients, retry)) {
    const uri = formatTarget(manifestAt);
    throw preflightError(
      'ERR_DGEN_TARGET_IN_USE',
      uri,
      `${uri} holds the manifest of another run: writing here would mix two runs' objects. Use --overwrite (overwrite: true) to replace that run, --resume (resume: true) to continue it, or another target`,
    );
  }
}
