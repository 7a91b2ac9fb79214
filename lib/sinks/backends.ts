/**
 * The cloud backends (S3, Azure Blob), loaded when a run first needs one. Their modules (s3-sink.ts,
 * azure-sink.ts) load no SDK themselves (sdk.ts loads each on first use), so the package's entry point
 * (index.ts) imports both and still loads neither SDK (about 24 MB of heap and 35 MiB of RSS); the CLI and
 * putObjects call {@link loadBackend} for the schemes they are about to use.
 * @module
 */
import diagnostics_channel from 'node:diagnostics_channel';
import type * as S3Module from './s3-sink.js';
import type * as AzureModule from './azure-sink.js';

/**
 * `dgen:backend:client` `{ scheme, client }`: published each time the package creates a backend client
 * (`createS3Client`, `createBlobServiceClient`), never for a client the caller gave. A run makes one per
 * backend it uses (verify, analyze, put), so subscribers can count them.
 */
export const clientChannel = diagnostics_channel.channel('dgen:backend:client');

let s3: typeof S3Module | undefined;
let azure: typeof AzureModule | undefined;

/** Called by s3-sink.ts and azure-sink.ts as they load. */
export function provideS3(module: typeof S3Module): void {
  s3 = module;
}
/** Called by azure-sink.ts as it loads. */
export function provideAzure(module: typeof AzureModule): void {
  azure = module;
}

/** Loads the backend of a scheme (`s3`, `az`; nothing to load for `file` and `direct`). */
export async function loadBackend(scheme: string): Promise<void> {
  if (scheme === 's3' && !s3) provideS3(await import('./s3-sink.js'));
  if (scheme === 'az' && !azure) provideAzure(await import('./azure-sink.js'));
}

/** The S3 backend. @throws Error when it was never loaded (use {@link loadBackend}, or import the package's
 * entry point). */
export function s3Backend(): typeof S3Module {
  if (!s3) throw new Error("dgen-stream: the S3 backend is not loaded: await loadBackend('s3') first, or import 'dgen-stream'");
  return s3;
}

/** The Azure Blob backend. @throws Error when it was never loaded. */
export function azureBackend(): typeof AzureModule {
  if (!azure)
    throw new Error("dgen-stream: the Azure backend is not loaded: await loadBackend('az') first, or import 'dgen-stream'");
  return azure;
}
