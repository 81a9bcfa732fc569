import type { Command } from 'commander';
import { useBackend } from '@tarm/core';
import { flopsPerToken } from '@tarm/recursion';
import { getTask, sequenceLength, type DecodeOptions } from '@tarm/tasks';
import { evaluateLengths, formatMetricsTable, type LengthResult } from '@tarm/eval';
import { runTraining, type RunConfig } from '@tarm/train/node';
import { createModel } from '@tarm/recursion';
import { resolveTrain, type ResolvedTrain } from '../options.js';
import { createProgress } from '../progress.js';
import { pct } from '../format.js';
import { CODE_VERSION } from '../version.js';

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train one model of the ladder on one task; writes a resumable run folder')
    .option('--model <rung>', 'dense | iterative | iterative-step | ut | dual-ut | dual-nested-ut | ar-trm', 'dense')
    .option('--task <name>', 'copy | reverse | addition', 'addition')
    .option('--length <L>', 'training problem length', '10')
    .option('--eval-lengths <list>', 'comma-separated evaluation lengths', '10,20,30,40,50')
    .option('--budget <B>', 'block passes per forward pass', '24')
    .option('--d-model <C>', 'residual width', '384')
    .option('--heads <n>', 'attention heads (must divide --d-model)', '6')
    .option('--steps <n>', 'optimizer steps', '5000')
    .option('--batch <n>', 'batch size', '64')
    .option('--lr <x>', 'AdamW learning rate', '3e-4')
    .option('--weight-decay <x>', 'AdamW decoupled weight decay', '0.01')
    .option('--dropout <p>', 'dropout rate', '0.1')
    .option('--seed <n>', 'run seed (weights, data, dropout, sampling)', '1337')
    .option('--backend <name>', 'wasm | cpu | node | webgpu', 'wasm')
    .option('--decode <how>', 'evaluation decoding: sample (the paper, T = 1) | greedy', 'sample')
    .option('--temperature <T>', 'sampling temperature', '1')
    .option('--eval-every <K>', 'evaluate every K steps (and at the end)', '250')
    .option('--eval-n <n>', 'evaluation problems per length', '100')
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
  await useBackend(flags.backend);
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
    backend: flags.backend,
  };
  const progress = createProgress(flags.steps, `${flags.model}/${flags.task}`);
  let lastAcc = '-';
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let finalEvals: Record<string, LengthResult> | undefined;
  let result;
  try {
    result = await runTraining({
      outDir: out,
      config,
      resume: flags.resume,
      createModel: () => createModel(modelConfig, flags.seed),
      evaluate: async (m, _step) => evaluateLengths(m, task, flags.evalLengths, { n: flags.evalN, seed: 1337, decode }),
      onStep: (info) => progress.update(info.step, { loss: info.loss, acc: lastAcc, tps: info.tokensPerSecond }),
      onEval: (_step, record) => {
        finalEvals = record as Record<string, LengthResult>;
        lastAcc = pct((record[String(flags.length)] ?? Object.values(record)[0])!.charAcc);
      },
      shouldStop: () => stop,
    });
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
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
  result.model.params.dispose();
  return record;
}
