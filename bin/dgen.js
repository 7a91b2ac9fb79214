#!/usr/bin/env node
// The dgen command line; the code lives in dist/cli (built from lib/cli by `npm install`).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
