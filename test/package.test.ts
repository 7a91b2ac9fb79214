// The packed tarball as a cluster installs it: `npm install ./dgen-stream-<version>.tgz` into an empty project
// on linux-x64 with no compiler on the PATH (no cmake, g++, c++, gcc, cc, make), then the main job from it
// with the addon's libraries hidden (the runtime libraries of libzstd, libdeflate, ISA-L, hwloc, xxHash,
// lz4, OpenSSL and zlib bind-mounted over by /dev/null in a private mount namespace, as on
// node:22-bookworm-slim, which has none of them), its output verified by this checkout's own source build.
//
// `npm pack` compiles the prebuilt (1-5 minutes on 2 busy cores) and rewrites dist/, so this test does not
// pack: it takes the tarball from DGEN_PACKED_TARBALL, which .ci/run sets after its `npm pack`, and is
// skipped without it. By hand:
//   npm pack --pack-destination /tmp && DGEN_PACKED_TARBALL=/tmp/dgen-stream-0.1.0.tgz node_modules/.bin/tap test/package.test.ts
// The install resolves the dependencies through the npm cache first (--prefer-offline), the registry else.
import t from 'tap';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const tarball = process.env.DGEN_PACKED_TARBALL;
const repoBin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));
const COMPILERS = ['cmake', 'g++', 'c++', 'gcc', 'cc', 'make'];
/** The shared libraries a source build links; the prebuilt must not need any of them from the system. */
const SYSTEM_LIBRARIES = [
  'libzstd.so.1',
  'libdeflate.so.0',
  'libisal.so.2',
  'libhwloc.so.15',
  'libxxhash.so.0',
  'liblz4.so.1',
  'libcrypto.so.3',
  'libz.so.1',
];

function whichAll(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** A directory of symlinks to node, npm, npx, sh and coreutils: a PATH without any compiler. */
async function compilerFreePath(dir: string): Promise<string> {
  await mkdir(dir);
  const tools = new Map<string, string>([
    ['node', process.execPath],
    ['sh', '/bin/sh'],
  ]);
  for (const name of ['npm', 'npx']) tools.set(name, whichAll(name)!);
  const coreutils = spawnSync('dpkg', ['-L', 'coreutils'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((f) => /\/s?bin\/[^/]+$/.test(f));
  for (const f of coreutils) if (!tools.has(basename(f))) tools.set(basename(f), f);
  for (const [name, target] of tools) await symlink(target, join(dir, name));
  return dir;
}

/** The environment of a user's shell: none of `npm test`'s or tap's variables, PATH as given. */
function cleanEnv(path: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|TAP|NODE_OPTIONS$|DGEN_)/i.test(k)) env[k] = v;
  env.PATH = path;
  return env;
}

function run(command: string, args: string[], options: SpawnSyncOptions) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
  // The output goes into an assertion's diagnostics only when it failed.
  return { status: r.status, output, diag: r.status === 0 ? {} : { output: output.slice(-6000) } };
}

/** The system's copies of the addon's libraries that exist here. */
function systemLibraries(): string[] {
  return SYSTEM_LIBRARIES.map((l) => `/usr/lib/x86_64-linux-gnu/${l}`).filter(existsSync);
}

/** `args` run in a private mount namespace where the system's copies of the addon's libraries are empty. */
function runWithoutSystemLibraries(args: string[], options: SpawnSyncOptions) {
  // unshare and mount by absolute path: they are util-linux's, not on the compiler-free PATH.
  const mount = whichAll('mount')!;
  const mounts = systemLibraries()
    .map((l) => `${mount} --bind /dev/null '${realpathSync(l)}' || exit 97`)
    .join('; ');
  return run(whichAll('unshare')!, ['-m', '/bin/sh', '-c', `${mounts}; exec "$@"`, 'sh', ...args], options);
}

t.test(
  'the packed tarball installs without a compiler on linux-x64 and runs the main job',
  {
    skip:
      process.platform !== 'linux' || process.arch !== 'x64'
        ? 'the prebuilt is for linux-x64 only'
        : !tarball
          ? 'DGEN_PACKED_TARBALL is not set (.ci/run sets it after npm pack; see the top of this file)'
          : false,
  },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'dgen-package-'));
    t.teardown(() => rm(root, { recursive: true, force: true }));
    const path = await compilerFreePath(join(root, 'bin'));
    for (const c of COMPILERS)
      t.not(run('/bin/sh', ['-c', `command -v ${c}`], { env: cleanEnv(path) }).status, 0, `no ${c} on the PATH`);

    const project = join(root, 'project');
    await mkdir(project);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'fresh', version: '1.0.0', private: true }));
    const env = cleanEnv(path);
    const install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', tarball!], {
      cwd: project,
      env,
    });
    t.equal(install.status, 0, 'npm install of the tarball', install.diag);
    t.match(install.output, /dgen-stream: using the prebuilt addon/, 'the install script kept the prebuilt');
    const pkg = join(project, 'node_modules', 'dgen-stream');
    t.notOk(existsSync(join(pkg, 'build')), 'nothing was compiled');
    t.ok(readdirSync(join(pkg, 'prebuilds', 'linux-x64')).includes('node.napi.glibc.node'), 'the tarball carries the prebuilt');

    const out = join(root, 'out');
    const hiddenCheck = runWithoutSystemLibraries(
      ['sh', '-c', 'for f; do [ -s "$f" ] && exit 1; done; exit 0', 'sh', ...systemLibraries()],
      { env },
    );
    t.equal(
      hiddenCheck.status,
      0,
      "the system's copies of the addon's libraries are empty inside the namespace",
      hiddenCheck.diag,
    );

    const put = runWithoutSystemLibraries(
      ['npx', 'dgen', 'put', out, '--count', '4', '--size', '16MiB', '--dedup', '2', '--compress', '3'],
      { cwd: project, env },
    );
    t.equal(put.status, 0, 'dgen put from the installed package', put.diag);
    const verify = runWithoutSystemLibraries(['npx', 'dgen', 'verify', out], { cwd: project, env });
    t.equal(verify.status, 0, 'dgen verify from the installed package', verify.diag);
    t.match(verify.output, /4 of 4 objects match/);

    const objects = (await readdir(out)).filter((f) => f.endsWith('.bin')).sort();
    t.same(objects, ['obj-000000.bin', 'obj-000001.bin', 'obj-000002.bin', 'obj-000003.bin']);
    for (const o of objects) t.equal(statSync(join(out, o)).size, 16 << 20, `${o} is 16 MiB`);
    // Another build of the generator (this checkout's, from source, with the system's shared libraries) reads
    // the prebuilt's output as the bytes it would have written itself.
    const repoVerify = run(process.execPath, [repoBin, 'verify', out], {});
    t.equal(repoVerify.status, 0, "the checkout's own build verifies the prebuilt's output", repoVerify.diag);
  },
);
