// Every error code the package emits is declared once, in lib/errors.ts, with its meaning.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, dgenError } from '../lib/errors.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

t.test('every ERR_DGEN_ code in lib/ is declared in ERROR_CODES', async (t) => {
  const used = new Map<string, string>();
  for (const file of sources(join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'lib'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/'(ERR_DGEN_[A-Z0-9_]+)'/g)) used.set(m[1]!, file);
  }
  t.ok(used.size >= 20, `found ${used.size} codes in lib/`);
  for (const [code, file] of used) t.ok(code in ERROR_CODES, `${code} (used in ${file}) is declared`);
  for (const [code, meaning] of Object.entries(ERROR_CODES)) t.match(meaning, /\w{3,}/, `${code} has a meaning`);
});

t.test('dgenError carries code, cause and fields', async (t) => {
  const cause = new Error('EIO');
  const err = dgenError('ERR_DGEN_BACKEND', 'file: write x failed', cause, { uri: 'file:///x' });
  t.type(err, Error);
  t.equal(err.code, 'ERR_DGEN_BACKEND');
  t.equal(err.message, 'file: write x failed');
  t.equal(err.cause, cause);
  t.equal(err.uri, 'file:///x');
  t.notOk('cause' in dgenError('ERR_DGEN_NOT_FOUND', 'gone'), 'no cause property when none is given');
});
