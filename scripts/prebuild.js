// `npm pack` runs this first (prepack): builds the prebuilt addon that the tarball carries, in the
// prebuildify/node-gyp-build layout, prebuilds/linux-x64/node.napi.glibc.node, so that `npm install` of the
// tarball on linux-x64 (glibc) needs no compiler. Elsewhere it builds nothing: scripts/install.js then
// compiles from source as before. `npm pack` runs scripts/prebuild.js --clean afterwards (postpack), which
// removes prebuilds/ so that a checkout keeps building from source.
//
// The prebuilt must load where none of the addon's libraries are installed (node:22-bookworm-slim has
// neither the -dev packages nor libzstd1, libdeflate0, libisal2): scripts/prebuild.cmake links Debian's
// static archives (libzstd, libdeflate, zlib, libxxhash) into it, hwloc is left out (the topology comes from
// sysfs, as in CI's no-hwloc build), and a library Debian ships only shared (libisal: CRC-32C at ~23 GB/s
// against ~0.9 GB/s for the table-driven fallback here) is copied next to the addon, which finds it through
// RUNPATH $ORIGIN. The copyright files of every library linked in go beside it (THIRD-PARTY-NOTICES).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const prebuilds = join(root, 'prebuilds');
const target = join(prebuilds, `${process.platform}-${process.arch}`);
const require = createRequire(import.meta.url);

/** Libraries every glibc system with Node has; anything else the prebuilt needs must be copied beside it. */
const SYSTEM_LIBRARIES = /^(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|ld-linux-x86-64)\.so\.\d+$/;

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error) throw new Error(`prebuild: ${command} could not be started: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(
      `prebuild: ${command} ${args.join(' ')} exited with ${result.status}\n${result.stdout ?? ''}${result.stderr ?? ''}`,
    );
  }
  return result.stdout ?? '';
}

/** The Debian package that owns `file` (dpkg -S), for its copyright file. */
function debianPackageOf(file) {
  // On a merged-/usr system ldd says /lib/... where dpkg recorded /usr/lib/... (or the other way round).
  for (const path of [file, file.startsWith('/usr/') ? file.slice(4) : `/usr${file}`]) {
    const out = spawnSync('dpkg', ['-S', path], { encoding: 'utf8' });
    if (out.status === 0) return out.stdout.split(':')[0].trim();
  }
  return undefined;
}

function notice(pkg, what) {
  const copyright = `/usr/share/doc/${pkg}/copyright`;
  if (!existsSync(copyright)) throw new Error(`prebuild: no ${copyright} for ${what}; cannot ship it without its licence`);
  return `==== ${what} (Debian package ${pkg}) ====\n\n${readFileSync(copyright, 'utf8')}\n`;
}

function build() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.log(`prebuild: no prebuilt for ${process.platform}-${process.arch}; installs there build from source`);
    return;
  }
  rmSync(prebuilds, { recursive: true, force: true });
  // A build directory of its own, outside build/ (which `npm run build:native` wipes), removed at the end.
  const buildDir = mkdtempSync(join(tmpdir(), 'dgen-prebuild-'));
  try {
    buildIn(buildDir);
  } finally {
    rmSync(buildDir, { recursive: true, force: true });
  }
}

function buildIn(buildDir) {
  console.log('prebuild: building the addon for prebuilds/linux-x64 (static libraries, no hwloc)');
  run(
    process.execPath,
    [
      require.resolve('cmake-js/bin/cmake-js'),
      'rebuild',
      '--out',
      buildDir,
      '--CDDGEN_SANITIZE=OFF',
      '--CDDGEN_WITH_HWLOC=OFF',
      `--CDCMAKE_PROJECT_INCLUDE=${join(root, 'scripts', 'prebuild.cmake')}`,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const addon = join(buildDir, 'Release', 'dgen.node');
  mkdirSync(target, { recursive: true });
  const out = join(target, 'node.napi.glibc.node');
  copyFileSync(addon, out);

  // Shared libraries the addon still needs, beyond the system's: copied beside it (ldd says from where).
  const needed = [...run('readelf', ['-d', addon]).matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map((m) => m[1]);
  const resolved = new Map([...run('ldd', [addon]).matchAll(/^\s*(\S+) => (\S+)/gm)].map((m) => [m[1], m[2]]));
  const notices = [];
  for (const lib of needed.filter((name) => !SYSTEM_LIBRARIES.test(name))) {
    const from = resolved.get(lib);
    if (!from || from === 'not') throw new Error(`prebuild: ldd does not resolve ${lib}`);
    copyFileSync(from, join(target, lib));
    notices.push(notice(debianPackageOf(from) ?? lib, lib));
  }
  // Static archives linked in (the pkg-config results in CMake's cache).
  const cache = readFileSync(join(buildDir, 'CMakeCache.txt'), 'utf8');
  for (const [, archive] of cache.matchAll(/^pkgcfg_lib_\w+:FILEPATH=(\S+\.a)$/gm)) {
    notices.push(notice(debianPackageOf(archive) ?? basename(archive), basename(archive)));
  }
  writeFileSync(
    join(target, 'THIRD-PARTY-NOTICES'),
    'The prebuilt addon node.napi.glibc.node contains or loads these libraries, built by Debian:\n\n' + notices.join('\n'),
  );

  // It loads (from where it will be, with the copied libraries) and works.
  run(process.execPath, ['-e', `const b = require(${JSON.stringify(out)}); if (!b.kernels().length) process.exit(1)`]);
  console.log(`prebuild: ${out} (needs ${needed.join(', ')})`);
}

if (process.argv.includes('--clean')) rmSync(prebuilds, { recursive: true, force: true });
else build();
