// The published declarations (dist/index.d.ts, built by `npm test`'s tsc step) type-check the uses in
// test/fixtures/types/public-api.ts and reject the misuses marked `@ts-expect-error` there.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));

t.test('dist/index.d.ts accepts the documented uses and rejects the misuses', { skip: existsSync(`${root}/dist/index.d.ts`) ? false : 'dist/ not built (npm test builds it first)' }, async (t) => {
  const result = await promisify(execFile)(process.execPath, [tsc, '-p', 'test/fixtures/types/tsconfig.json'], { cwd: root }).then(
    () => ({ code: 0, out: '' }),
    (err: { code?: number; stdout?: string }) => ({ code: err.code ?? 1, out: err.stdout ?? String(err) }),
  );
  t.equal(result.code, 0, result.out || 'tsc found no type errors and no unused @ts-expect-error');
});
