// npm runs this when the package is installed (and on `npm ci` in a checkout). It keeps the prebuilt addon
// (prebuilds/<platform>-<arch>/, see scripts/prebuild.js) when one matches this machine and loads here, and
// otherwise builds the addon from source into build/Release with cmake-js (cmake, a C++17 compiler and the
// -dev packages of README's "On a fresh machine"). lib/native.ts loads build/Release first, then the
// prebuilt. A git checkout always builds from source (its tests expect hwloc and the system's libraries),
// and so does any install with DGEN_BUILD_FROM_SOURCE=1.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);

/** Why the prebuilt is not used, or undefined when it loads here. */
function prebuiltProblem() {
  if (process.env.DGEN_BUILD_FROM_SOURCE === '1') return 'DGEN_BUILD_FROM_SOURCE=1';
  if (existsSync(join(root, '.git'))) return 'a git checkout builds from source';
  process.env.PREBUILDS_ONLY = '1'; // node-gyp-build: look at prebuilds/ only, not at an old build/Release
  let file;
  try {
    file = require('node-gyp-build').path(root);
  } catch {
    return `no prebuilt for ${process.platform}-${process.arch}`;
  }
  // In a child process: a prebuilt that cannot load (another libc, an older libstdc++) must not take
  // this process down with it.
  const probe = spawnSync(
    process.execPath,
    ['-e', `try { require(${JSON.stringify(file)}).kernels() } catch (e) { console.error(e.message); process.exit(1) }`],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0)
    return `the prebuilt ${file} does not load here: ${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim().split('\n')[0]}`;
  return undefined;
}

const problem = prebuiltProblem();
if (problem === undefined) {
  console.log('dgen-stream: using the prebuilt addon');
} else {
  console.log(`dgen-stream: building the addon from source (${problem})`);
  const build = spawnSync(
    process.execPath,
    [require.resolve('cmake-js/bin/cmake-js'), 'rebuild', '--out', 'build', '--CDDGEN_SANITIZE=OFF'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  process.exitCode = build.status ?? 1;
}
