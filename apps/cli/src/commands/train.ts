import type { Command } from 'commander';
import { resolveBackend } from '@tarm/core';
import { flopsPerToken, RUNG_NAMES } from '@tarm/recursion';
import { getTask, sequenceLength, TASK_NAMES, type DecodeOptions } from '@tarm/tasks';
import { evaluateLengths, formatMetricsTable, type LengthResult } from '@tarm/eval';
import { PAPER_DEFAULTS as D } from '@tarm/study';
import { runTraining, type RunConfig } from '@tarm/train/node';
import { createModel } from '@tarm/recursion';
import { resolveTrain, type ResolvedTrain } from '../options.js';
import { createProgress } from '../progress.js';
import { CODE_VERSION } from '../version.js';

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train one model of the ladder on one task; writes a resumable run folder')
    .option('--model <rung>', RUNG_NAMES.join(' | '), 'dense')
    .option('--task <name>', TASK_NAMES.join(' | '), 'addition')
    .option('--length <L>', 'training problem length', String(D.length))
    .option('--eval-lengths <list>', 'comma-separated evaluation lengths', D.evalLengths.join(','))
    .option('--budget <B>', 'block passes per forward pass', String(D.budget))
    .option('--d-model <C>', 'residual width', String(D.dModel))
    .option('--heads <n>', 'attention heads (must divide --d-model)', String(D.nHeads))
    .option('--steps <n>', 'optimizer steps', String(D.steps))
    .option('--batch <n>', 'batch size', String(D.batch))
    .option('--lr <x>', 'AdamW learning rate', String(D.lr))
    .option('--weight-decay <x>', 'AdamW decoupled weight decay', String(D.weightDecay))
    .option('--dropout <p>', 'dropout rate', String(D.dropout))
    .option('--seed <n>', 'run seed (weights, data, dropout, sampling)', String(D.seed))
    .option('--backend <name>', 'auto (node when @tensorflow/tfjs-node loads, else wasm) | wasm | cpu | node | webgpu', 'auto')
    .option('--decode <how>', 'evaluation decoding: sample (the paper, T = 1) | greedy', D.decode)
    .option('--temperature <T>', 'sampling temperature', String(D.temperature))
    .option('--eval-every <K>', 'evaluate every K steps (and at the end)', String(D.evalEvery))
    .option('--eval-n <n>', 'evaluation problems per length', String(D.evalN))
    .option('--ponder-weight <w>', 'ACT ponder-cost weight', '0')
    .option('--outer <H>', 'nested rungs: cycles per step (with --inner; overrides the budget solver)')
    .option('--inner <L>', 'nested rungs: latent updates per cycle (with --outer)')
    .option('--halt-exploration <p>', 'ar-trm: exploration probability in training', '0.25')
    .option('--deep-supervision <N>', 'nested rungs: supervised segments per batch, a loss + optimizer step after each (0: one per step; default 1, trm-faithful 0)')
    .option('--halt-loss <on|off>', 'binary-halting rungs: train a per-position halting head with BCE (trm-faithful: on)')
    .option('--grad-cycles <last|all>', 'nested rungs: gradient through the last cycle of a step or all (trm-faithful: all)')
    .option('--ema <decay>', 'evaluate with an EMA of the weights (0: off; trm-faithful: 0.999)')
    .option('--out <dir>', 'run folder (default runs/<model>-<task>-L<length>-s<seed>)')
    .option('--resume', 'continue the interrupted run in --out')
    .option('--json', 'print one JSON object as the last stdout line')
    .action(async (raw: Record<string, unknown>) => {
      const resolved = resolveTrain(raw); // every flag checked before anything is written
      await trainCommand(resolved);
    });
}

/** The training job: backend, run folder, progress line, final table and JSON line. */
export async function trainCommand({ flags, model: modelConfig, out, ema }: ResolvedTrain): Promise<Record<string, unknown>> {
  const backend = await resolveBackend(flags.backend);
  console.error(`tarm: backend ${backend.name}${flags.backend === 'auto' ? ` (${backend.reason})` : ''}`);
  const task = getTask(flags.task);
  const decode: DecodeOptions = { strategy: flags.decode, temperature: flags.temperature, seed: flags.seed };
  const config: RunConfig & { eval: unknown; backend: string } = {
    model: modelConfig,
    train: {
      task: flags.task,
      length: flags.length,
      batchSize: flags.batchSize,
      steps: flags.steps,
      evalEvery: flags.evalEvery,
      optimizer: { lr: flags.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: flags.weightDecay, ema },
    },
    seed: flags.seed,
    codeVersion: CODE_VERSION,
    eval: { lengths: flags.evalLengths, n: flags.evalN, decode: flags.decode, temperature: flags.temperature },
    backend: backend.name,
  };
  const progress = createProgress(flags.steps, `${flags.model}/${flags.task}`);
  let lastAcc: number | undefined;
  let last = { step: 0, loss: Number.NaN, tps: 0 };
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // a study's worker whose study died (its IPC channel closed) stops at the next step, resumable
  if (process.connected) process.once('disconnect', onSignal);
  let finalEvals: Record<string, LengthResult> | undefined;
  let result;
  try {
    result = await runTraining({
      outDir: out,
      config,
      resume: flags.resume,
      createModel: () => createModel(modelConfig, flags.seed),
      evaluate: async (m, _step) => evaluateLengths(m, task, flags.evalLengths, { n: flags.evalN, seed: 1337, decode }),
      onStep: (info) => {
        last = { step: info.step, loss: info.loss, tps: info.tokensPerSecond };
        progress.update(info.step, { loss: info.loss, acc: lastAcc, tps: info.tokensPerSecond });
      },
      onEval: (_step, record) => {
        finalEvals = record as Record<string, LengthResult>;
        lastAcc = 100 * (record[String(flags.length)] ?? Object.values(record)[0])!.charAcc;
        if (last.step > 0) progress.update(last.step, { loss: last.loss, acc: lastAcc, tps: last.tps });
      },
      shouldStop: () => stop,
    });
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('disconnect', onSignal);
  }
  const summary = result.summary;
  if (!summary) {
    console.error(`tarm: stopped at step ${result.step}; continue with: tarm train ... --out ${out} --resume`);
    process.exitCode = 130;
    return {};
  }
  const evals = (summary.evals ?? finalEvals ?? {}) as Record<string, LengthResult>;
  const flops = flopsPerToken(modelConfig, sequenceLength(task, flags.length));
  const record = {
    model: flags.model,
    task: flags.task,
    length: flags.length,
    budget: flags.budget,
    steps: flags.steps,
    backend: backend.name,
    params: summary.paramCount,
    blockPasses: result.model.blockPasses,
    tokensPerSecond: Math.round(summary.tokensPerSecond),
    wallSeconds: Number(summary.wallSeconds.toFixed(2)),
    fwdFlopsPerToken: flops.forward,
    bwdFlopsPerToken: flops.backward,
    evals: Object.fromEntries(
      Object.entries(evals).map(([L, m]) => [L, { charAcc: m.charAcc, exactMatch: m.exactMatch, firstCharAcc: m.firstCharAcc, lastCharAcc: m.lastCharAcc, quartiles: m.quartiles }]),
    ),
  };
  const lines = [`run ${out}: ${flags.model} on ${flags.task} (L = ${flags.length}), ${summary.step} steps, ${record.wallSeconds}s, ${record.tokensPerSecond} tok/s`];
  if (Object.keys(evals).length > 0) lines.push(formatMetricsTable(evals));
  const ex = evals[String(flags.length)]?.examples ?? [];
  for (const e of ex.slice(0, 5)) lines.push(`  ${e.prompt}${e.prediction.padEnd(e.answer.length)}   ${e.prediction === e.answer ? 'ok' : `expected ${e.answer}`}`);
  (flags.json ? console.error : console.log)(lines.join('\n'));
  if (flags.json) process.stdout.write(JSON.stringify(record) + '\n');
  progress.result(record);
  result.model.params.dispose();
  return record;
}
