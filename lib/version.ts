/** This package's name and version, read from package.json. @module */
import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

/** e.g. `dgen-stream 0.1.0`. */
export const TOOL = `${pkg.name} ${pkg.version}`;
export const VERSION = pkg.version;
