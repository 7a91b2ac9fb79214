// How the named codecs of `ratioCodec` are measured, shared by the calibration script
// (benchmarks/calibrate-ratio-codec.ts), the accuracy matrix (benchmarks/accuracy.ts) and the tests
// (test/ratio-codec*.test.ts): with the real codecs, never with our own analyzer.
//
// - Whole stream: the command-line tools on the whole object, from stdin to stdout: `zstd -1`, `zstd -3`,
//   `gzip -6`, `lz4 -1` (lz4's default: one LZ4 frame, fast mode, 4 MiB blocks, linked blocks off).
//   The ratio is input bytes / output bytes, container headers included.
// - Per chunk: Debian's python3 cuts the object into aligned chunks of CHUNK bytes, drops every chunk whose
//   SHA-1 it has seen (dedup first, as storage systems do) and compresses each unique chunk alone:
//   zstd as one frame per chunk (python-zstandard, level N, content size in the header, no checksum),
//   deflate as raw deflate (zlib level N, wbits -15: no zlib or gzip wrapper, as storage systems store it),
//   lz4 as one block (lz4.block, default fast mode, no size prefix). The ratio is the sum of the unique
//   chunks' bytes over the sum of their compressed bytes.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { binding } from '../lib/native.js';

/** Debian's python3: it has zlib, python3-zstandard and python3-lz4 (`apt-get install python3-zstandard python3-lz4`). */
export const PYTHON = '/usr/bin/python3';

/** Command line of each whole-stream codec (canonical name without chunk). */
export const WHOLE_COMMANDS: Record<string, [string, string[]]> = {
  'zstd-1': ['zstd', ['-1', '-c', '-q']],
  'zstd-3': ['zstd', ['-3', '-c', '-q']],
  'gzip-6': ['gzip', ['-6', '-c', '-n']],
  lz4: ['lz4', ['-1', '-c', '-q']],
};

/**
 * Generates `size` bytes of an object whose native layout is given `layoutCompressRatio` directly (the
 * addon accepts any value >= 1; the library caps what users ask for at 64, the layout may need more).
 */
export function layoutSample(
  layoutCompressRatio: number,
  size: number,
  options: { dedupRatio?: number; seed?: bigint; dedupUnit?: number } = {},
): Buffer {
  const g = new binding.Generator({
    seed: options.seed ?? 2026n,
    objectId: 0n,
    size,
    unitBytes: options.dedupUnit ?? 4096,
    dedupRatio: options.dedupRatio ?? 1,
    compressRatio: layoutCompressRatio,
    kernel: 'auto',
  });
  const out = Buffer.allocUnsafe(size);
  g.fillSync(out, 0);
  return out;
}

/** Ratio of a whole-stream codec (a key of {@link WHOLE_COMMANDS}) on `data`, by its CLI. */
export function wholeRatio(codec: string, data: Uint8Array): number {
  const [cmd, args] = WHOLE_COMMANDS[codec]!;
  const r = spawnSync(cmd, args, { input: data, maxBuffer: data.length + (1 << 20) });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error ?? r.stderr}`);
  return data.length / r.stdout.length;
}

/** {@link wholeRatio} without blocking, so that several codecs can run at once. */
export function wholeRatioAsync(codec: string, data: Uint8Array): Promise<number> {
  const [cmd, args] = WHOLE_COMMANDS[codec]!;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = 0;
    child.stdout.on('data', (b: Buffer) => (out += b.length));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(data.length / out) : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`)),
    );
    child.stdin.end(data);
  });
}

const PER_CHUNK_SCRIPT = `
import hashlib, json, sys, zlib, zstandard, lz4.block
path, specs = sys.argv[1], json.loads(sys.argv[2])
data = open(path, 'rb').read()
out = {}
zc = {}
for codec, level, chunk in specs:
    seen, raw, comp = set(), 0, 0
    if codec == 'zstd':
        c = zc.setdefault(level, zstandard.ZstdCompressor(level=level))
        f = c.compress
    elif codec == 'deflate':
        def f(b, level=level):
            d = zlib.compressobj(level, zlib.DEFLATED, -15)
            return d.compress(b) + d.flush()
    elif codec == 'lz4':
        f = lambda b: lz4.block.compress(b, store_size=False)
    else:
        raise SystemExit('unknown codec ' + codec)
    for off in range(0, len(data), chunk):
        b = data[off:off + chunk]
        h = hashlib.sha1(b).digest()
        if h in seen:
            continue
        seen.add(h)
        raw += len(b)
        comp += len(f(b))
    out['%s/%d/%d' % (codec, level, chunk)] = raw / comp
print(json.dumps(out))
`;

/** One per-chunk codec: name (`zstd`, `deflate`, `lz4`), level (lz4: 1) and chunk size in bytes. */
export interface ChunkCodec {
  codec: 'zstd' | 'deflate' | 'lz4';
  level: number;
  chunk: number;
}

/**
 * Per-chunk ratios (after dedup) of the codecs in `specs` on the file at `path`, by python3 (one process
 * for all of them). Keys: `codec/level/chunk`.
 */
export function perChunkRatios(path: string, specs: ChunkCodec[]): Record<string, number> {
  const r = spawnSync(PYTHON, ['-c', PER_CHUNK_SCRIPT, path, JSON.stringify(specs.map((s) => [s.codec, s.level, s.chunk]))], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`python3 per-chunk measurement failed: ${r.error ?? r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, number>;
}

/** Per-chunk ratios of `data` (written to `scratchFile` first); see {@link perChunkRatios}. */
export function perChunkRatiosOf(data: Uint8Array, scratchFile: string, specs: ChunkCodec[]): Record<string, number> {
  writeFileSync(scratchFile, data);
  return perChunkRatios(scratchFile, specs);
}

/** The canonical `ratioCodec` name's parts, as {@link perChunkRatios} and {@link wholeRatio} take them. */
export function splitCanonical(name: string): { whole: string } | ChunkCodec {
  const m = /^([a-z0-9]+?)(?:-(\d+))?(?:@(\d+))?$/.exec(name);
  if (!m) throw new Error(`not a canonical ratio codec: ${name}`);
  if (m[3] === undefined) return { whole: name };
  return { codec: m[1] as ChunkCodec['codec'], level: m[2] === undefined ? 1 : Number(m[2]), chunk: Number(m[3]) };
}

/** Versions of the codec libraries and tools measured with, for the table's header. */
export function codecVersions(): Record<string, string> {
  const first = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`
      .split('\n')
      .find((l) => l.trim() !== '')!
      .replace(/\*/g, '')
      .trim();
  };
  const py = spawnSync(
    PYTHON,
    [
      '-c',
      'import sys, zlib, zstandard, lz4; print(f"Python {sys.version.split()[0]}, zlib {zlib.ZLIB_RUNTIME_VERSION}, python-zstandard {zstandard.__version__} (libzstd {\'.\'.join(map(str, zstandard.ZSTD_VERSION))}), python-lz4 {lz4.__version__} (liblz4 {lz4.library_version_string()})")',
    ],
    { encoding: 'utf8' },
  ).stdout.trim();
  return { zstd: first('zstd', ['--version']), gzip: first('gzip', ['--version']), lz4: first('lz4', ['--version']), python: py };
}
