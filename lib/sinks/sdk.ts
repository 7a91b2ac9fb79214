/**
 * The cloud SDKs, loaded on first use: `@aws-sdk/client-s3` and `@aws-sdk/lib-storage` when an S3 client,
 * sink or request is first made, `@azure/storage-blob` when an Azure one is. Importing the package loads
 * neither: together they hold about 24 MB of heap, which every full garbage collection of a process that
 * only generates data or writes files would otherwise walk (longer event-loop pauses).
 *
 * The loads are synchronous (`createRequire`), so constructors and client factories stay synchronous; the
 * modules that use an SDK import only its types at load time (`import type`). `require` gives the SDKs'
 * CommonJS builds: `@aws-sdk/*` have no other build for Node, and `@azure/storage-blob` has an ES module
 * build too, so its classes are never checked with `instanceof` (a caller's client may come from either).
 * @module
 */
import { createRequire } from 'node:module';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type * as S3Storage from '@aws-sdk/lib-storage';
import type * as AzureSdk from '@azure/storage-blob';
import { dgenError } from '../errors.js';

const requireSdk = createRequire(import.meta.url);
const loaded = new Map<string, unknown>();

/**
 * The package `name`, required once and kept.
 * @throws Error `ERR_DGEN_MISSING_DEPENDENCY` when it is not installed (naming it and what needs it); the
 *   package's own error when it fails to load for another reason.
 */
function load<T>(name: string, neededFor: string): T {
  let module = loaded.get(name);
  if (module === undefined) {
    try {
      module = requireSdk(name);
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      if (e?.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${name}'`)) {
        throw dgenError(
          'ERR_DGEN_MISSING_DEPENDENCY',
          `dgen-stream: ${neededFor} needs the package ${name}, which is not installed (npm install ${name})`,
          err,
          { packageName: name },
        );
      }
      throw err;
    }
    loaded.set(name, module);
  }
  return module as T;
}

/** `@aws-sdk/client-s3`. @throws Error `ERR_DGEN_MISSING_DEPENDENCY` when it is not installed. */
export function s3Sdk(): typeof S3Sdk {
  return load<typeof S3Sdk>('@aws-sdk/client-s3', 'an s3:// target');
}

/** `@aws-sdk/lib-storage` (its `Upload`). @throws Error `ERR_DGEN_MISSING_DEPENDENCY` when it is not installed. */
export function s3Storage(): typeof S3Storage {
  return load<typeof S3Storage>('@aws-sdk/lib-storage', 'an S3 sink');
}

/** `@azure/storage-blob`. @throws Error `ERR_DGEN_MISSING_DEPENDENCY` when it is not installed. */
export function azureSdk(): typeof AzureSdk {
  return load<typeof AzureSdk>('@azure/storage-blob', 'an az:// target');
}
