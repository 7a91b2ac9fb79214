/**
 * Observability: `NODE_DEBUG=dgen` logging through `util.debuglog`, and `diagnostics_channel` events that
 * users can subscribe to for their own tracing:
 * - `dgen:object:start`   `{ name, uri, objectId, size, attempt }`
 * - `dgen:object:finish`  `{ name, uri, objectId, size, compressedSize, crc32c, attempt, seconds }`
 * - `dgen:object:retry`   `{ name, uri, objectId, attempt, delayMs, error }`
 * - `dgen:object:failure` `{ name, uri, objectId, attempts, error }`
 * - `dgen:backend:client`  `{ scheme, client }`: the package created an S3 or Azure client (one per run and
 *   store; published by lib/sinks/backends.ts)
 * @module
 */
import { debuglog } from 'node:util';
import diagnostics_channel from 'node:diagnostics_channel';

/** `NODE_DEBUG=dgen` logger. */
export const debug = debuglog('dgen');

/** The channels bulk puts and verifies publish on. */
export const channels = {
  objectStart: diagnostics_channel.channel('dgen:object:start'),
  objectFinish: diagnostics_channel.channel('dgen:object:finish'),
  objectRetry: diagnostics_channel.channel('dgen:object:retry'),
  objectFailure: diagnostics_channel.channel('dgen:object:failure'),
};
