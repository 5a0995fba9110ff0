#!/usr/bin/env node
import { createCountersign, modules } from './compose.js';
import { main } from './src/cli.js';

process.exitCode = await main(process.argv.slice(2), { createApp: createCountersign, modules });
