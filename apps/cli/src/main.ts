#!/usr/bin/env node
import { run } from './program.js';

run(process.argv).then(
  (code) => {
    // a command may have set its own exit code (130: stopped, resumable); a usage error's 2 wins
    process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);
  },
  (e: unknown) => {
    // an error tarm did not expect: one line, the stack only on request (TARM_DEBUG=1)
    const message = e instanceof Error ? e.message : String(e);
    if (process.env.TARM_DEBUG && e instanceof Error) console.error(e.stack ?? message);
    else
      console.error(
        `tarm: ${message.split('\n')[0]} (an unexpected error: rerun with TARM_DEBUG=1 for the stack trace, and please report it)`,
      );
    process.exitCode = 1;
  },
);
