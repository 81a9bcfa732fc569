import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, TarmError } from '@tarm/core';

/** Config field -> the CLI flag that sets it, so errors name what the user typed. */
export const FLAG_OF: Record<string, string> = {
  model: '--model',
  switches: '--switches',
  config: '--config',
  heads: '--heads',
  batch: '--batch',
  task: '--task',
  length: '--length',
  evalLengths: '--eval-lengths',
  budget: '--budget',
  dModel: '--d-model',
  nHeads: '--heads',
  steps: '--steps',
  batchSize: '--batch',
  lr: '--lr',
  dropout: '--dropout',
  seed: '--seed',
  backend: '--backend',
  decode: '--decode',
  temperature: '--temperature',
  evalEvery: '--eval-every',
  evalN: '--eval-n',
  ponderWeight: '--ponder-weight',
  outer: '--outer',
  inner: '--inner',
  haltExploration: '--halt-exploration',
  weightDecay: '--weight-decay',
  contextLength: '--context-length',
  deepSupervision: '--deep-supervision',
  haltLoss: '--halt-loss',
  gradCycles: '--grad-cycles',
  ema: '--ema',
  microBatch: '--micro-batch',
  prompt: '--prompt',
  maxTokens: '--max-tokens',
  run: '--run',
  log: '--log',
  lengths: '--lengths',
  n: '--n',
  // the training library's names for the same settings (ConfigError from @tarm/train)
  'train.steps': '--steps',
  'train.length': '--length',
  'train.batchSize': '--batch',
  'train.evalEvery': '--eval-every',
  'train.microBatch': '--micro-batch',
};

/**
 * The backend line of train and study: why auto chose what it did. A missing optional tfjs-node is the common
 * case on a fresh install and gets a short note; a broken installation keeps the full explanation.
 */
export function backendReason(reason: string): string {
  const m = /^auto: backend "node" is not available: the package (\S+) is not installed; run: ([^(;]+?)\s*(\(|$)/.exec(
    reason,
  );
  return m ? `auto: ${m[1]} is not installed; ${m[2]} for the faster node backend` : reason;
}

/** A usage error: the CLI prints it and exits with code 2. */
export class UsageError extends TarmError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Flags arrive as strings: show "5" as 5, keep quotes for words. */
function showValue(v: unknown): string {
  return typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? v : JSON.stringify(v);
}

/** commander's option keys -> config field names where they differ. */
export function renameFlags(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) out[k === 'heads' ? 'nHeads' : k === 'batch' ? 'batchSize' : k] = v;
  return out;
}

/** Rewrites a ConfigError about a config field into one about the flag. */
export function toUsageError(e: unknown): unknown {
  if (e instanceof ConfigError) {
    // a structural switch (`switches.halting`) is one pair of --switches
    const flag =
      FLAG_OF[e.field] ??
      (e.field.startsWith('switches.') ? `--switches ${e.field.slice('switches.'.length)}` : `--${e.field}`);
    let allowed = e.allowed;
    for (const [field, f] of Object.entries(FLAG_OF)) allowed = allowed.replace(new RegExp(`\\b${field}\\b`, 'g'), f);
    return new UsageError(
      `invalid ${flag}: ${e.got === undefined ? 'missing' : `got ${showValue(e.got)}`}; allowed: ${allowed}`,
    );
  }
  return e;
}

/** A Node.js file-system error (ENOENT, EACCES, ...): it has a string `code` and a `syscall`. */
function isFsError(e: unknown): e is NodeJS.ErrnoException & { dest?: string } {
  return (
    e instanceof Error &&
    typeof (e as NodeJS.ErrnoException).code === 'string' &&
    typeof (e as NodeJS.ErrnoException).syscall === 'string'
  );
}

/** The first part of `path` that exists and is a file (what makes ENOTDIR), or undefined. */
export function fileInPath(path: string): string | undefined {
  const parts: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    parts.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of parts) {
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const WRITES = new Set([
  'mkdir',
  'rename',
  'write',
  'unlink',
  'rmdir',
  'copyfile',
  'symlink',
  'utime',
  'chmod',
  'fsync',
  'ftruncate',
]);

/**
 * A file-system error as one line for a person: what failed, on which path, and what to do (no stack trace).
 * The path of an atomic write's temporary file is shown as the file it was to become. Undefined for any other error.
 */
export function fsErrorMessage(e: unknown): string | undefined {
  if (!isFsError(e)) return undefined;
  const raw = e.dest ?? e.path ?? '(unknown path)';
  const path = raw.replace(/\.tmp-\d+-\d+$/, '');
  const verb = WRITES.has(e.syscall!)
    ? 'write'
    : /^(read|readdir|scandir|stat|lstat|access)$/.test(e.syscall!)
      ? 'read'
      : 'use';
  switch (e.code) {
    case 'ENOTDIR': {
      const file = fileInPath(path);
      return `cannot ${verb} ${path}: ${file ? `${file} is a file, not a folder` : 'a part of the path is a file, not a folder'}; give a folder path (a new or existing folder)`;
    }
    case 'EISDIR':
      return `cannot ${verb} ${path}: it is a folder, and a file is needed here; give a file name (e.g. ${path}/model.safetensors)`;
    case 'EACCES':
    case 'EPERM':
      return `cannot ${verb} ${path}: permission denied; choose a folder you can ${verb === 'read' ? 'read' : 'write to'}, or change its permissions`;
    case 'EROFS':
      return `cannot ${verb} ${path}: the file system is read-only; choose a folder on a writable disk`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `cannot ${verb} ${path}: no space left on the device; free some space (a run folder keeps its last checkpoint: --resume continues it)`;
    case 'EEXIST':
      return `cannot ${verb} ${path}: a file of that name already exists where a folder is needed; give another path`;
    case 'ENOENT':
      return `cannot ${verb} ${path}: no such file or folder; check the path`;
    case 'ENAMETOOLONG':
      return `cannot ${verb} ${path}: the path is too long; give a shorter one`;
    default:
      return `cannot ${verb} ${path}: ${e.message.replace(/^[A-Z]+: /, '')}`;
  }
}
