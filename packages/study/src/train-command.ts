import type { BackendName, GridRun, StudyConfig } from './presets.js';

/**
 * The `tarm train` arguments for one grid run (everything after the CLI entry point). `resume` adds `--resume`
 * for a run folder that holds a config.json but no summary.json.
 */
export function trainArgs(run: GridRun, config: StudyConfig, opts: { runDir: string; backend: BackendName; resume: boolean; extra?: readonly string[] }): string[] {
  const args = [
    'train',
    ['--model', run.model],
    ['--task', run.task],
    ['--length', config.length],
    ['--eval-lengths', config.evalLengths.join(',')],
    ['--budget', config.budget],
    ['--d-model', config.dModel],
    ['--heads', config.nHeads],
    ['--steps', config.steps],
    ['--batch', config.batch],
    ['--lr', config.lr],
    ['--dropout', config.dropout],
    ['--seed', run.seed],
    ['--backend', opts.backend],
    ['--decode', config.decode],
    ['--eval-every', config.evalEvery],
    ['--eval-n', config.evalN],
    ['--out', opts.runDir],
  ]
    .flat()
    .map(String);
  if (opts.resume) args.push('--resume');
  args.push('--json', ...(opts.extra ?? []));
  return args;
}

/** What one stderr progress line of `tarm train` says. */
export interface TrainProgress {
  step: number;
  steps: number;
  loss?: number;
  /** Character accuracy in percent at the last evaluation, when the line shows one. */
  acc?: number;
  tokensPerSecond?: number;
}

const STEP = /\bstep\s+(\d+)\s*\/\s*(\d+)/;
const LOSS = /\bloss\s+(-?[\d.]+(?:e[-+]?\d+)?|NaN)/i;
const ACC = /\bacc\s+(-?[\d.]+)/;
const TPS = /([\d.]+)\s*tok\/s/;

/**
 * Reads a `tarm train` progress line (`... step 120/400 | loss 0.1234 | acc 98.0 | 5000 tok/s | left 1m02s`);
 * `undefined` for any other line. Fields missing from the line (e.g. `acc -` before the first evaluation) are
 * left out.
 */
export function parseProgressLine(line: string): TrainProgress | undefined {
  const m = STEP.exec(line);
  if (!m) return undefined;
  const p: TrainProgress = { step: Number(m[1]), steps: Number(m[2]) };
  const loss = LOSS.exec(line);
  if (loss) p.loss = Number(loss[1]);
  const acc = ACC.exec(line);
  if (acc && Number.isFinite(Number(acc[1]))) p.acc = Number(acc[1]);
  const tps = TPS.exec(line);
  if (tps) p.tokensPerSecond = Number(tps[1]);
  return p;
}

/** The `--json` result of `tarm train`: its last stdout line. Fields are read defensively elsewhere. */
export type TrainResult = Record<string, unknown>;

/** The last non-empty stdout line parsed as a JSON object, or `undefined`. */
export function parseResultLine(stdout: string): TrainResult | undefined {
  const lines = stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const last = lines[lines.length - 1];
  if (!last) return undefined;
  try {
    const v = JSON.parse(last) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as TrainResult) : undefined;
  } catch {
    return undefined;
  }
}
