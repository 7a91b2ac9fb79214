// One client per run: verify and analyze read every object of a run through one S3 client (and one Azure
// service client), counted on the package's own `dgen:backend:client` diagnostics channel, and the TCP
// connections that reached s3rver counted by a plain TCP relay in front of it (a client per object would
// open a connection per object). Real s3rver and Azurite on 127.0.0.1.
import t from 'tap';
import diagnostics_channel from 'node:diagnostics_channel';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { BlobServiceClient } from '@azure/storage-blob';
import { createS3Client, putObjects, verifyObjects } from '../lib/index.js';
import { listInputs, openTarget } from '../lib/analyze/inputs.js';
import { startAzurite, startS3rver } from './fixtures/servers.js';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const bucket = 'dgen-clients';
const OBJECTS = 40;

/** Counts the clients the package creates while `fn` runs, by scheme. */
async function countClients<T>(fn: () => Promise<T>): Promise<{ result: T; s3: number; az: number }> {
  const counts = { s3: 0, az: 0 };
  const onClient = (message: unknown) => counts[(message as { scheme: 's3' | 'az' }).scheme]++;
  diagnostics_channel.subscribe('dgen:backend:client', onClient);
  try {
    const result = await fn();
    return { result, ...counts };
  } finally {
    diagnostics_channel.unsubscribe('dgen:backend:client', onClient);
  }
}

/** A TCP relay to `port` that counts the connections it accepts. */
async function startTcpCounter(port: number): Promise<{ endpoint: string; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((down) => {
    connections++;
    const up = connect(port, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        down.destroy();
        up.destroy();
      });
    }
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))),
  };
}

t.test(
  'S3: verify of 40 objects makes one client and fewer connections than objects; listInputs reads through one client',
  async (t) => {
    const server = await startS3rver([bucket]);
    t.teardown(() => server.stop());
    const put = await putObjects({
      target: `s3://${bucket}/run`,
      count: OBJECTS,
      size: 3000,
      seed: 5,
      endpoint: server.endpoint,
      credentials,
    });
    t.equal(put.committed, OBJECTS);

    const relay = await startTcpCounter(server.port);
    t.teardown(() => relay.close());
    const connection = { endpoint: relay.endpoint, credentials };
    const {
      result: report,
      s3,
      az,
    } = await countClients(() => verifyObjects({ target: `s3://${bucket}/run`, concurrency: 4, ...connection }));
    t.equal(report.objects, OBJECTS);
    t.equal(report.ok, OBJECTS, 'every object matches');
    t.equal(report.extraObjects, 0);
    t.equal(s3, 1, 'one S3 client for the manifest, the records, every object and the listing');
    t.equal(az, 0);
    t.ok(
      relay.connections() < OBJECTS,
      `connections to the server (${relay.connections()}) are fewer than the objects (${OBJECTS})`,
    );

    const listed = await countClients(async () => {
      let bytes = 0;
      let inputs = 0;
      for await (const input of listInputs([`s3://${bucket}/run`], connection)) {
        inputs++;
        for await (const chunk of await input.open()) bytes += (chunk as Buffer).length;
      }
      return { inputs, bytes };
    });
    t.same(
      listed.result,
      { inputs: OBJECTS, bytes: OBJECTS * 3000 },
      'every object listed and read (the manifest files skipped)',
    );
    t.equal(listed.s3, 1, 'one S3 client for the listing and its reads');

    // A caller's client is used as it is: none is created, and it still works afterwards.
    const client = createS3Client({ endpoint: server.endpoint, credentials });
    t.teardown(() => client.destroy());
    const given = await countClients(() => verifyObjects({ target: `s3://${bucket}/run`, client }));
    t.equal(given.result.ok, OBJECTS);
    t.equal(given.s3, 0, 'no client created when one is given');
    const stream = await openTarget(`s3://${bucket}/run/dgen-manifest.json`, { client });
    let text = '';
    for await (const chunk of stream) text += chunk;
    t.match(JSON.parse(text), { committed: OBJECTS }, 'the given client was not destroyed by the runs that used it');
  },
);

t.test('Azure: verify of 40 blobs makes one service client', async (t) => {
  const server = await startAzurite();
  t.teardown(() => server.stop());
  const container = 'dgen-clients';
  await BlobServiceClient.fromConnectionString(server.connectionString).getContainerClient(container).create();
  const connection = { connectionString: server.connectionString };
  const put = await putObjects({ target: `az://${container}/run`, count: OBJECTS, size: 3000, seed: 6, ...connection });
  t.equal(put.committed, OBJECTS);
  const {
    result: report,
    s3,
    az,
  } = await countClients(() => verifyObjects({ target: `az://${container}/run`, concurrency: 4, ...connection }));
  t.equal(report.ok, OBJECTS, 'every blob matches');
  t.equal(report.extraObjects, 0);
  t.equal(az, 1, 'one service client for the manifest, the records, every blob and the listing');
  t.equal(s3, 0);
});
