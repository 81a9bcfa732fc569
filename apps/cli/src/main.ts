#!/usr/bin/env node
import { run } from './program.js';

run(process.argv).then(
  (code) => {
    // a command may have set its own exit code (130: stopped, resumable); a usage error's 2 wins
    process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);
  },
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exitCode = 1;
  },
);
