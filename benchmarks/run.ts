// npm run bench [-- --json] [-- --only generation,compression,object-stores,bulk-put]
// Every line gives GB/s and the ratio to a baseline measured in the same run.
import { benchGeneration } from './generation.js';
import { benchCompression } from './compression.js';
import { benchObjectStores } from './object-stores.js';
import { benchBulkPut } from './bulk-put.js';
import { print } from './table.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? new Set(args[onlyAt + 1]?.split(',')) : undefined;
const suites: [string, () => Promise<void>][] = [
  ['generation', benchGeneration],
  ['compression', benchCompression],
  ['object-stores', benchObjectStores],
  ['bulk-put', benchBulkPut],
];
for (const [name, run] of suites) {
  if (only && !only.has(name)) continue;
  if (!json) process.stderr.write(`running ${name}...\n`);
  await run();
}
print(json);
