import { ConfigError, TarmError } from '@tarm/core';

/** Config field -> the CLI flag that sets it, so errors name what the user typed. */
export const FLAG_OF: Record<string, string> = {
  model: '--model',
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
};

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
    const flag = FLAG_OF[e.field] ?? `--${e.field}`;
    let allowed = e.allowed;
    for (const [field, f] of Object.entries(FLAG_OF)) allowed = allowed.replace(new RegExp(`\\b${field}\\b`, 'g'), f);
    return new UsageError(`invalid ${flag}: ${e.got === undefined ? 'missing' : `got ${showValue(e.got)}`}; allowed: ${allowed}`);
  }
  return e;
}
