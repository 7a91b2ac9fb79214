/**
 * `analyze()`: measure files, directories and objects with an {@link Analyzer}.
 * @module
 */
import { Analyzer, type AnalyzeOptions, type AnalyzeReport } from './analyzer.js';
import { listInputs, type InputOptions } from './inputs.js';

/** Options of {@link analyze}. */
export interface AnalyzeInputsOptions extends AnalyzeOptions, InputOptions {
  /** Called after every buffer with the bytes analyzed so far and the input being read. */
  onProgress?: (bytes: number, uri: string) => void;
  /** Called once per input before it is read. */
  onInput?: (uri: string, size: number | undefined) => void;
}

/**
 * Reads every input (streamed, one at a time) and reports dedup and compression as storage systems see
 * them. See {@link AnalyzeReport} for the shape.
 */
export async function analyze(specs: string[], options: AnalyzeInputsOptions = {}): Promise<AnalyzeReport> {
  const analyzer = new Analyzer(options);
  for await (const input of listInputs(specs, options)) {
    options.onInput?.(input.uri, input.size);
    analyzer.beginInput();
    for await (const chunk of await input.open()) {
      await analyzer.update(chunk as Buffer);
      options.onProgress?.(analyzer.bytes, input.uri);
    }
    await analyzer.endInput();
  }
  return analyzer.report();
}

/** Sum of the sizes of the inputs where known (for a progress bar's total). */
export async function totalSize(specs: string[], options: InputOptions = {}): Promise<number | undefined> {
  let total = 0;
  for await (const input of listInputs(specs, options)) {
    if (input.size === undefined) return undefined;
    total += input.size;
  }
  return total;
}
