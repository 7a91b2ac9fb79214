// verifyObjects' and `dgen verify`'s options at the boundary: unknown keys with a "did you mean" hint,
// each option's type and range by the shared validators, all before the manifest is read.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { putObjects, verifyObjects } from '../lib/index.js';

const dir = await mkdtemp(join(tmpdir(), 'dgen-verify-options-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
await putObjects({ target: dir, count: 3, size: 4096, seed: 3 });

t.test('unknown keys: TypeError naming the key and the option meant', async (t) => {
  await t.rejects(verifyObjects({ target: dir, concurrancy: 2 } as never), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'concurrancy',
    message: 'verifyObjects options have no option "concurrancy": did you mean concurrency?',
  });
  await t.rejects(verifyObjects({ target: dir, Extras: false } as never), {
    parameter: 'Extras',
    message: /did you mean extras\?$/,
  });
  await t.rejects(verifyObjects({ target: dir, endpointUrl: 'http://x' } as never), {
    parameter: 'endpointUrl',
    message: /did you mean endpoint\?$/,
  });
});

t.test('types and ranges of the options', async (t) => {
  const missing = join(dir, 'does-not-exist');
  // Checked before the manifest is read: a target that does not exist is never reached.
  await t.rejects(verifyObjects({ target: missing, concurrency: 0 }), {
    name: 'RangeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'concurrency',
    message: 'concurrency must be a whole number >= 1; got 0',
  });
  await t.rejects(verifyObjects({ target: missing, concurrency: '4' as never }), {
    name: 'TypeError',
    parameter: 'concurrency',
    message: 'concurrency must be a whole number >= 1; got "4"',
  });
  await t.rejects(verifyObjects({ target: missing, extras: 'yes' as never }), {
    name: 'TypeError',
    parameter: 'extras',
    message: 'extras must be true or false; got "yes"',
  });
  await t.rejects(verifyObjects({ target: missing, onObject: 5 as never }), { name: 'TypeError', parameter: 'onObject' });
  await t.rejects(verifyObjects({ target: 7 as never }), { name: 'TypeError', parameter: 'target' });
  await t.rejects(verifyObjects(null as never), { name: 'TypeError', parameter: 'options' });
  await t.rejects(verifyObjects({}), { name: 'TypeError', parameter: 'target', message: /a target or a manifest/ });
  const env = process.env.AZURE_STORAGE_CONNECTION_STRING;
  delete process.env.AZURE_STORAGE_CONNECTION_STRING;
  t.teardown(() => {
    if (env !== undefined) process.env.AZURE_STORAGE_CONNECTION_STRING = env;
  });
  await t.rejects(verifyObjects({ target: 'az://container/run' }), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'connectionString',
  });
});

t.test('good options still verify', async (t) => {
  const seen: string[] = [];
  const report = await verifyObjects({ target: dir, concurrency: 2, extras: false, onObject: (r) => seen.push(r.status) });
  t.equal(report.ok, 3);
  t.same(seen, ['ok', 'ok', 'ok']);
  t.equal(report.extraObjects, undefined, 'extras: false lists nothing');
});

t.test('dgen verify --concurrency 0 exits 2 naming the option', async (t) => {
  const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));
  const r = spawnSync(process.execPath, [bin, 'verify', dir, '--concurrency', '0'], { encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 2, r.stderr);
  t.match(r.stderr, /concurrency/);
  t.match(r.stderr, /whole number >= 1/);
});
