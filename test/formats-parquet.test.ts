// Parquet files read by hyparquet (an npm reader independent of the writer, @dsnp/parquetjs): row count,
// schema (one required BYTE_ARRAY column `data`), every value equal to regeneration and distinct across
// files; ratios in the file by fixed-chunk hashing and the zstd CLI against the bound the value framing
// allows; typed errors.
import t from 'tap';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { createParquetFile, type ParquetFile } from '../lib/formats/parquet.js';
import { dedupRatio, hasTool, near, toolRatio } from './fixtures/helpers.js';
import { sha, tempDir } from './fixtures/python.js';

async function write(f: ParquetFile, path: string): Promise<Buffer> {
  await pipeline(f.stream(), createWriteStream(path));
  return readFileSync(path);
}

const arrayBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;

t.test('hyparquet reads every file: rows, schema, values equal regeneration and distinct', async (t) => {
  const dir = tempDir(t);
  const seen = new Set<string>();
  let total = 0;
  for (const [i, c] of [
    { samples: 40, recordLength: 20_000, rowGroupSize: 16 },
    { samples: 3, recordLength: 1_000_000 },
    { samples: 7, recordLength: 16 },
  ].entries()) {
    for (const objectId of [0, 1]) {
      const f = await createParquetFile({ ...c, seed: 6, objectId: i * 2 + objectId, compressRatio: 2 });
      const path = join(dir, `img_${i * 2 + objectId}_of_6.parquet`);
      const bytes = await write(f, path);
      t.equal(statSync(path).size, f.size, 'size computed up front');
      const meta = parquetMetadata(arrayBuffer(bytes));
      t.equal(Number(meta.num_rows), c.samples, 'row count');
      t.equal(meta.row_groups.length, Math.ceil(c.samples / f.rowGroupSize), 'row groups');
      const leaf = meta.schema.find((s) => s.name === 'data')!;
      t.same([leaf.type, leaf.repetition_type], ['BYTE_ARRAY', 'REQUIRED'], 'schema: required binary column data');
      const rows = (await parquetReadObjects({ file: arrayBuffer(bytes), utf8: false })) as { data: Uint8Array }[];
      t.equal(rows.length, c.samples, 'rows read');
      const raw = f.generator.generateSync();
      let equal = 0;
      for (const [r, row] of rows.entries()) {
        if (sha(row.data) === sha(raw.subarray(f.valueOffset(r), f.valueOffset(r) + c.recordLength))) equal++;
        seen.add(sha(row.data));
        total++;
      }
      t.equal(equal, c.samples, 'every value equals the object bytes at its offset');
    }
  }
  t.equal(seen.size, total, `all ${total} values distinct`);
});

t.test('ratios: compression holds, dedup holds in every unit the value framing leaves whole', async (t) => {
  if (!hasTool('zstd')) return t.skip('zstd CLI missing');
  const dir = tempDir(t);
  for (const { d, c, recordLength } of [
    { d: 1, c: 1, recordLength: 110_000 },
    { d: 2, c: 3, recordLength: 110_000 },
    { d: 4, c: 2, recordLength: 1_048_576 },
  ]) {
    const samples = Math.ceil((32 * 1024 * 1024) / recordLength);
    const f = await createParquetFile({ samples, recordLength, seed: 5, objectId: 9, dedupRatio: d, compressRatio: c });
    const path = join(dir, `r-${d}.parquet`);
    const bytes = await write(f, path);
    const U = 4096;
    // Units holding anything but value bytes (a length prefix, page header, footer) cannot dedup.
    const pure = new Uint8Array(Math.ceil(bytes.length / U));
    for (let r = 0; r < samples; r++) {
      const start = f.valueOffset(r);
      for (let u = Math.ceil(start / U); (u + 1) * U <= start + recordLength; u++) pure[u] = 1;
    }
    const units = pure.length;
    const framing = units - pure.reduce((a, b) => a + b, 0);
    const bound = units / (Math.min(units - framing, Math.round(units / d)) + framing);
    const measuredD = dedupRatio(bytes, U);
    const measuredC = toolRatio(['zstd', '-1', '-c'], path, bytes.length);
    t.comment(
      `parquet S=${recordLength} d=${d} c=${c}: dedup ${measuredD.toFixed(4)} (framing bound ${bound.toFixed(4)}, ${framing} of ${units} units framing), zstd-1 ${measuredC.toFixed(4)}`,
    );
    t.ok(near(measuredD, bound, 0.02), `dedup ${measuredD} within 2% of the bound ${bound}`);
    t.ok(near(measuredC, c, 0.05), `zstd -1 ${measuredC} within 5% of ${c}`);
  }
});

t.test('bad parameters throw ERR_DGEN_INVALID_FORMAT synchronously', async (t) => {
  const bad: [string, object][] = [
    ['samples', { samples: 0, recordLength: 1024 }],
    ['recordLength', { recordLength: 15 }],
    ['recordLength', {}],
    ['rowGroupSize', { recordLength: 1024, rowGroupSize: 0 }],
    ['size', { size: 100, samples: 10 }],
  ];
  for (const [parameter, options] of bad) {
    t.throws(
      () => createParquetFile({ seed: 1, ...options }),
      { code: 'ERR_DGEN_INVALID_FORMAT', parameter },
      JSON.stringify(options),
    );
  }
});
