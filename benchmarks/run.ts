// npm run bench [-- --json] [-- --only generation,compression,object-stores,bulk-put,streams,analyze,put-vs-fio]
// put-vs-fio, restic-cdc and formats are not in the default set (each takes ~10 minutes or more and writes GBs): name them with --only;
// put-vs-fio also takes --huge and --verify (see benchmarks/put-vs-fio.ts).
// Every line gives GB/s and the ratio to a baseline measured in the same run.
import { print } from './table.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? new Set(args[onlyAt + 1]?.split(',')) : undefined;
const suites: [string, () => Promise<void>][] = [
  // Imported when run, so a section only loads what it uses (put-vs-fio runs bin/dgen.js as a child and
  // does not load the library or its addon in this process).
  ['generation', async () => (await import('./generation.js')).benchGeneration()],
  ['compression', async () => (await import('./compression.js')).benchCompression()],
  ['object-stores', async () => (await import('./object-stores.js')).benchObjectStores()],
  ['bulk-put', async () => (await import('./bulk-put.js')).benchBulkPut()],
  ['streams', async () => (await import('./streams.js')).benchStreams()],
  ['analyze', async () => (await import('./analyze.js')).benchAnalyze()],
  ['put-vs-fio', async () => (await import('./put-vs-fio.js')).benchPutVsFio()],
  ['restic-cdc', async () => (await import('./restic-cdc.js')).benchResticCdc()],
  ['formats', async () => (await import('./formats.js')).benchFormats()],
];
const optIn = new Set(['put-vs-fio', 'restic-cdc', 'formats']);
for (const [name, run] of suites) {
  if (only ? !only.has(name) : optIn.has(name)) continue;
  if (!json) process.stderr.write(`running ${name}...\n`);
  await run();
}
print(json);
