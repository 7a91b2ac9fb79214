/**
 * The one loader of the native addon (built by cmake-js into build/Release/dgen.node).
 * @module
 */
import { createRequire } from 'node:module';

/** Options of the native generator; validated by params.ts before they get here. */
export interface NativeGeneratorOptions {
  seed: bigint;
  objectId: bigint;
  size: number;
  unitBytes: number;
  dedupRatio: number;
  compressRatio: number;
  kernel: string;
  datasetUnits?: number;
  unitOffset?: number;
}

/** The native generator: a pure function from (options, byte offset) to bytes. */
export interface NativeGenerator {
  fillSync(target: ArrayBufferView, offset: number): number;
  fill(target: ArrayBufferView, offset: number): Promise<number>;
  uniqueOf(unit: number): number;
  readonly units: number;
  readonly uniqueUnits: number;
  readonly randomBytesPerSector: number;
  readonly kernel: string;
}

interface Binding {
  Generator: new (options: NativeGeneratorOptions) => NativeGenerator;
  kernels(): string[];
  /** A Buffer of `size` bytes whose memory is aligned to `alignment` (power of two), for O_DIRECT. */
  allocAligned(size: number, alignment: number): Buffer;
}

const require = createRequire(import.meta.url);

function load(): Binding {
  try {
    return require('../build/Release/dgen.node') as Binding;
  } catch (cause) {
    throw new Error(
      'dgen-stream: the native addon build/Release/dgen.node could not be loaded; run `npm install` ' +
        '(or `npm run build:native`) in the package directory to build it',
      { cause },
    );
  }
}

/** The loaded addon. */
export const binding: Binding = load();
