/**
 * The Azure Blob backend: `az://container/blob`. It owns these URIs, the run's service client (one per
 * run, reused by every blob), listing and reading blobs, and creating their sinks.
 *
 * `@azure/storage-blob` is an optional dependency: this module imports none of it at load time;
 * {@link openAzureSession} loads it (sinks/backends.ts).
 * @module
 */
import type { Readable } from 'node:stream';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { AzureBlobSinkOptions, AzureConnectionOptions } from '../sinks/azure-sink.js';
import type { ObjectWriter } from '../sinks/object-writer.js';
import { azureBackend, loadBackend } from '../sinks/backends.js';
import { pickOptions } from '../sinks/sink-options.js';

/** The keys of {@link AzureConnectionOptions}, each named once: spread into the lists that take them. */
export const AZURE_CONNECTION_KEYS = {
  connectionString: true,
  serviceClient: true,
  pipeline: true,
} as const satisfies { [K in keyof Required<AzureConnectionOptions>]: true };

/** The keys an Azure blob sink takes beyond every writer's (`signal`, `highWaterMark`, `compression`). */
export const AZURE_KEYS = { ...AZURE_CONNECTION_KEYS, blockSize: true, blockConcurrency: true, contentType: true } as const;

/** A blob, or a name prefix (a bulk put's or a listing's), in a container. */
export type AzureTarget = { scheme: 'az'; container: string; blob: string };

/**
 * The target of `az://` followed by `rest` (`container/blob`).
 * @param allowEmptyKey - accept `az://container` (a prefix).
 * @returns the target, or why the URI is malformed.
 */
export function parseAzureUri(rest: string, allowEmptyKey: boolean): AzureTarget | string {
  const slash = rest.indexOf('/');
  const container = slash < 0 ? rest : rest.slice(0, slash);
  const blob = slash < 0 ? '' : rest.slice(slash + 1);
  if (container === '') return 'no container';
  if (blob === '' && !allowEmptyKey) return 'no blob name';
  return { scheme: 'az', container, blob };
}

/** `az://container/blob`. */
export function formatAzureTarget(target: AzureTarget): string {
  return `az://${target.container}/${target.blob}`;
}

/** The blob `name` under a name prefix, joined with `/` (an empty prefix is the container's root). */
export function azureChild(prefix: AzureTarget, name: string): AzureTarget {
  const p = prefix.blob;
  return { ...prefix, blob: p === '' ? name : p.endsWith('/') ? p + name : `${p}/${name}` };
}

/**
 * The sink of a blob: an `AzureBlobSink`, with the keys of the options a blob sink takes (a put's options
 * name other backends' too). The backend must be loaded (`loadBackend('az')`, or the package's entry point).
 * @throws the errors of `AzureBlobSink`'s constructor; Error when the backend is not loaded.
 */
export function createAzureTargetSink(target: AzureTarget, options: AzureBlobSinkOptions): ObjectWriter {
  const backend = azureBackend();
  return new backend.AzureBlobSink(target.container, target.blob, pickOptions(options, backend.AZURE_BLOB_SINK_OPTION_KEYS));
}

/** A blob found by {@link AzureSession.list}. */
export interface AzureListed {
  target: AzureTarget;
  /** Bytes stored, as the listing says. */
  size?: number;
}

/** A run's use of Azure Blob storage: one service client for every request of the run. */
export interface AzureSession {
  readonly serviceClient: BlobServiceClient;
  /** The blobs whose names start with the target's name, in the service's (name) order. */
  list(prefix: AzureTarget): AsyncGenerator<AzureListed>;
  /** The blob's bytes. @throws the SDK's errors (`RestError` with `statusCode` 404, ...). */
  open(target: AzureTarget): Promise<Readable>;
  /** A sink writing the blob through this session's client. @throws the errors of `AzureBlobSink`. */
  createSink(target: AzureTarget, options: AzureBlobSinkOptions): ObjectWriter;
  /** Ends the session (the SDK's HTTP client holds no socket open between requests to release). */
  close(): void;
}

/**
 * Opens a session: loads the SDK, and creates the run's service client unless `options.serviceClient` is
 * given.
 * @throws the errors of `createBlobServiceClient` (`ERR_DGEN_INVALID_OPTION` without a connection).
 */
export async function openAzureSession(options: AzureConnectionOptions = {}): Promise<AzureSession> {
  await loadBackend('az');
  const backend = azureBackend();
  const serviceClient = backend.createBlobServiceClient(options);
  return {
    serviceClient,
    async *list(prefix) {
      const container = serviceClient.getContainerClient(prefix.container);
      for await (const blob of container.listBlobsFlat({ prefix: prefix.blob })) {
        yield {
          target: { scheme: 'az', container: prefix.container, blob: blob.name },
          ...(blob.properties.contentLength !== undefined && { size: blob.properties.contentLength }),
        };
      }
    },
    async open(target) {
      const blob = serviceClient.getContainerClient(target.container).getBlobClient(target.blob);
      return (await blob.download()).readableStreamBody as Readable;
    },
    createSink(target, sinkOptions) {
      return createAzureTargetSink(target, { ...sinkOptions, serviceClient });
    },
    close() {},
  };
}
