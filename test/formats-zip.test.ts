// The stored-ZIP writer under NPZ (lib/formats/zip-store.ts), checked by independent readers: Info-ZIP's
// `unzip -t` (every member's CRC-32) and Python's zipfile (names, bytes, CRCs by testzip, ZIP64 records);
// member data starts at the offsets the layout computed, padding included.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { storedZip, storedZipLayout, type StoredMember } from '../lib/formats/zip-store.js';
import { hasTool } from './fixtures/helpers.js';
import { python, sha, tempDir } from './fixtures/python.js';

const READ = `
import sys, json, hashlib, zipfile
out = []
for path in sys.argv[1:]:
    with zipfile.ZipFile(path) as z:
        out.append({'bad': z.testzip(), 'names': z.namelist(),
                    'sha': [hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist()],
                    'stored': all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())})
print(json.dumps(out))
`;

/** Members of the given sizes and paddings, each data in chunks of up to 100 KiB. */
function members(specs: { size: number; padding?: number }[]): { members: StoredMember[]; bytes: Buffer[] } {
  const bytes = specs.map((s) => randomBytes(s.size));
  return {
    bytes,
    members: specs.map((s, i) => ({
      name: `m${i}.bin`,
      size: s.size,
      ...(s.padding !== undefined && { padding: s.padding }),
      async *data() {
        for (let at = 0; at < s.size; at += 100_000) yield bytes[i]!.subarray(at, Math.min(s.size, at + 100_000));
      },
    })),
  };
}

t.test('unzip -t and Python zipfile read the archive; sizes and data offsets as laid out', async (t) => {
  const dir = tempDir(t);
  const specs = [{ size: 300_000, padding: 4 }, { size: 0 }, { size: 1234, padding: 65535 }, { size: 1_000_001 }];
  const paths: string[] = [];
  const all: Buffer[][] = [];
  for (const forceZip64 of [false, true]) {
    const { members: m, bytes } = members(specs);
    const layout = storedZipLayout(m, forceZip64);
    const path = join(dir, `a-${forceZip64}.zip`);
    await pipeline(Readable.from(storedZip(m, forceZip64)), createWriteStream(path));
    t.equal(statSync(path).size, layout.size, `zip64 ${forceZip64}: size computed up front`);
    const file = readFileSync(path);
    for (const [i, off] of layout.dataOffsets.entries()) {
      t.ok(file.subarray(off, off + bytes[i]!.length).equals(bytes[i]!), `member ${i} data at offset ${off}`);
    }
    if (forceZip64) t.ok(file.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06])), 'ZIP64 end record written');
    paths.push(path);
    all.push(bytes);
    if (hasTool('unzip')) {
      const r = spawnSync('unzip', ['-t', path], { encoding: 'utf8' });
      t.equal(r.status, 0, `unzip -t: ${r.stdout.trim().split('\n').pop()}`);
    }
  }
  const read = python<{ bad: string | null; names: string[]; sha: string[]; stored: boolean }[]>(READ, paths);
  for (const [k, r] of read.entries()) {
    t.equal(r.bad, null, 'zipfile.testzip: every CRC right');
    t.same(r.names, ['m0.bin', 'm1.bin', 'm2.bin', 'm3.bin']);
    t.same(r.sha, all[k]!.map(sha), 'member bytes');
    t.ok(r.stored, 'stored members');
  }
});

t.test('data shorter than declared fails the stream; bad padding is refused up front', async (t) => {
  const m: StoredMember[] = [
    {
      name: 'short',
      size: 10,
      async *data() {
        yield Buffer.alloc(9);
      },
    },
  ];
  await t.rejects(pipeline(Readable.from(storedZip(m)), createWriteStream('/dev/null')), /9 bytes of data, 10 declared/);
  for (const padding of [1, 3, 65536, 2.5]) {
    t.throws(() => storedZipLayout([{ name: 'p', size: 1, padding, async *data() {} }]), RangeError, `padding ${padding}`);
  }
});
