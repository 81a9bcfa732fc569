import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
/** The built CLI entry point, run the way a user runs `tarm`. */
export const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** Runs `tarm ...args` in a child process; resolves with its exit code and output (never rejects). */
export async function tarm(
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [MAIN, ...args], { maxBuffer: 1 << 24, env });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
