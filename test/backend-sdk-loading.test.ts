/**
 * The cloud SDKs load on first use (lib/sinks/sdk.ts): importing the package loads neither the AWS SDK nor
 * the Azure SDK (their heap would lengthen every full GC of a process that never uses them); making an S3
 * sink or an Azure client loads that SDK, and only it. Each case is a fresh child process importing the
 * built package (dist/, as `npm test` builds it), which reports the SDK packages Node's CommonJS loader
 * holds (`require.cache`, where the SDKs' CommonJS builds land, imported or required).
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
const SDKS = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@azure/storage-blob'];

/** The SDK packages loaded in a child that imports the package as `dgen`, then runs `code`. */
function sdksLoaded(t: Test, code = ''): string[] {
  const script = `
    import { createRequire } from 'node:module';
    const dgen = await import(${JSON.stringify(dist)});
    ${code}
    const files = Object.keys(createRequire(${JSON.stringify(dist)}).cache);
    const sdks = ${JSON.stringify(SDKS)};
    console.log(JSON.stringify(sdks.filter((name) => files.some((f) => f.includes('/node_modules/' + name + '/')))));
    process.exit(0);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  t.equal(r.status, 0, `the child ran: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '[]') as string[];
}

t.test('importing the package loads no cloud SDK', async (t) => {
  const loaded = sdksLoaded(t);
  t.notOk(loaded.includes('@aws-sdk/lib-storage'), 'no @aws-sdk/lib-storage');
  t.notOk(loaded.includes('@azure/storage-blob'), 'no @azure/storage-blob');
  t.notOk(loaded.includes('@aws-sdk/client-s3'), 'no @aws-sdk/client-s3 (nor @dsnp/parquetjs, which requires it)');
});

t.test('an S3 sink loads the AWS SDK, and not the Azure one', async (t) => {
  // The sink opens its upload (lib-storage's Upload) as it is constructed; nothing is sent before a write.
  const loaded = sdksLoaded(
    t,
    `const sink = new dgen.S3Sink('bucket', 'key', { endpoint: 'http://127.0.0.1:9', region: 'us-east-1' });
     sink.on('error', () => {});
     await new Promise((resolve) => setTimeout(resolve, 10));`,
  );
  t.ok(loaded.includes('@aws-sdk/lib-storage'), `loaded: ${loaded.join(', ')}`);
  t.notOk(loaded.includes('@azure/storage-blob'));
});

t.test('an Azure client loads the Azure SDK, and not the AWS one', async (t) => {
  const connectionString =
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;';
  const loaded = sdksLoaded(t, `dgen.createBlobServiceClient({ connectionString: ${JSON.stringify(connectionString)} });`);
  t.ok(loaded.includes('@azure/storage-blob'), `loaded: ${loaded.join(', ')}`);
  t.notOk(loaded.includes('@aws-sdk/lib-storage'));
});
