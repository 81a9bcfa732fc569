import * as tf from '@tensorflow/tfjs-core';
import type { Command } from 'commander';
import { z } from 'zod';
import { BACKEND_CHOICES, ConfigError, type CausalLM } from '@tarm/core';
import { configDefiner, resolveBackend } from '@tarm/core/internal';
import type { LadderModel } from '@tarm/recursion';
import { CONTEXT_LENGTH, evaluationSet, getTask, type Task } from '@tarm/tasks';
import { encodeExamples, sequenceLength } from '@tarm/tasks/internal';
import { evaluateLengths, formatMetricsTable } from '@tarm/eval';
import { pct, table } from '@tarm/eval/internal';
import { loadRunModel, unfinishedNote } from '../run-model.js';

const lengthList = z
  .string()
  .regex(/^\s*[1-9]\d*(\s*,\s*[1-9]\d*)*\s*$/, 'a comma-separated list of positive integers, e.g. 10,20');
const EvalFlags = z.strictObject({
  run: z.string().min(1),
  lengths: lengthList.optional(),
  /** train's name for the same list: `tarm eval` takes either. */
  evalLengths: lengthList.optional(),
  n: z.coerce.number().int().min(1).optional(),
  evalN: z.coerce.number().int().min(1).optional(),
  decode: z.enum(['greedy', 'sample']).default('greedy'),
  temperature: z.coerce.number().gt(0).default(1),
  seed: z.coerce.number().int().min(0).default(1337),
  backend: z.enum(BACKEND_CHOICES).default('auto'),
  adaptive: z.boolean().default(false),
  maxSteps: z.coerce.number().int().min(1).optional(),
  json: z.boolean().default(false),
});

/** The model run with a fixed number of outer steps (test-time compute), as a CausalLM for the decoders (KV cache included). */
function withSteps(model: LadderModel, steps: number): CausalLM {
  return {
    logits: (ids) => tf.tidy(() => model.forward(ids, { steps }).logits),
    startDecoding: (batchSize) => model.startDecoding(batchSize, { steps }),
  };
}

/**
 * Mean block passes per answer token: a teacher-forced forward pass over the evaluation problems, reading how
 * many steps each answer position ran before it halted (ACT, or a per-position halting head), times the passes
 * per step. Rungs without halting spend their whole budget on every token.
 */
function meanPassesPerAnswerToken(model: LadderModel, task: Task, L: number, n: number, steps?: number): number {
  const b = encodeExamples(evaluationSet(task, L, n), sequenceLength(task, L));
  return tf.tidy(() => {
    const ids = tf.tensor2d(b.inputs, [b.batchSize, b.seqLen], 'int32');
    const mask = tf.tensor2d(b.mask, [b.batchSize, b.seqLen]);
    const out = model.forward(ids, { steps });
    const perStep = model.schedule.passesPerStep;
    if (!out.stepsPerPosition) return out.passesRun;
    return (tf.sum(tf.mul(out.stepsPerPosition, mask)).dataSync()[0]! / tf.sum(mask).dataSync()[0]!) * perStep;
  });
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(
      'evaluate a trained run; --adaptive adds accuracy vs block passes per token and the test-time compute curve',
    )
    .requiredOption('--run <dir>', 'run folder written by tarm train')
    .option('--lengths <list>', "evaluation lengths (default: the run's); also --eval-lengths, as in tarm train")
    .option('--eval-lengths <list>', 'same as --lengths')
    .option('--n <n>', 'problems per length (default 100); also --eval-n, as in tarm train')
    .option('--eval-n <n>', 'same as --n')
    .option('--decode <how>', 'greedy | sample', 'greedy')
    .option('--temperature <T>', 'sampling temperature', '1')
    .option('--seed <n>', 'sampling seed', '1337')
    .option(
      '--backend <name>',
      `${BACKEND_CHOICES.join(' | ')} (auto: node when @tensorflow/tfjs-node loads, else wasm)`,
      'auto',
    )
    .option('--adaptive', 'report mean block passes per answer token and accuracy vs inference steps')
    .option('--max-steps <n>', 'largest number of outer steps on the curve (default: twice the trained steps)')
    .option('--json', 'print one JSON object as the last stdout line')
    .action(async (raw: Record<string, unknown>) => {
      const parsed = configDefiner(EvalFlags)(raw as never);
      if (parsed.lengths !== undefined && parsed.evalLengths !== undefined)
        throw new ConfigError('lengths', 'either --lengths or --eval-lengths, not both', parsed.evalLengths);
      if (parsed.n !== undefined && parsed.evalN !== undefined)
        throw new ConfigError('n', 'either --n or --eval-n, not both', parsed.evalN);
      const f = { ...parsed, lengths: parsed.lengths ?? parsed.evalLengths, n: parsed.n ?? parsed.evalN ?? 100 };
      await resolveBackend(f.backend);
      const { model, config, step } = await loadRunModel(f.run);
      const note = unfinishedNote(f.run, config, step);
      if (note) console.error(note);
      const task = getTask(config.train.task);
      const lengths = f.lengths?.split(',').map(Number) ?? config.eval?.lengths ?? [config.train.length];
      for (const L of lengths) {
        if (sequenceLength(task, L) > CONTEXT_LENGTH)
          throw new ConfigError(
            'lengths',
            `lengths whose ${task.name} problems fit the context of ${CONTEXT_LENGTH} positions`,
            L,
          );
      }
      const decode = { strategy: f.decode, temperature: f.temperature, seed: f.seed } as const;
      const evals = await evaluateLengths(model, task, lengths, { n: f.n, decode });
      const record: Record<string, unknown> = {
        run: f.run,
        model: model.config.model,
        task: task.name,
        blockPasses: model.blockPasses,
        evals: Object.fromEntries(Object.entries(evals).map(([L, m]) => [L, { ...m, examples: undefined }])),
      };
      const out: string[] = [formatMetricsTable(evals)];
      if (f.adaptive) {
        const L = config.train.length;
        const adaptivePasses = meanPassesPerAnswerToken(model, task, L, f.n);
        record.adaptive = { length: L, meanPassesPerToken: adaptivePasses, charAcc: evals[String(L)]!.charAcc };
        const curve: Record<string, number>[] = [];
        if (model.rung.tied) {
          const maxSteps = f.maxSteps ?? 2 * model.schedule.steps;
          for (let s = 1; s <= maxSteps; s++) {
            const m = (await evaluateLengths(withSteps(model, s), task, [L], { n: f.n, decode }))[String(L)]!;
            curve.push({
              steps: s,
              maxPasses: s * model.schedule.passesPerStep,
              meanPassesPerToken: meanPassesPerAnswerToken(model, task, L, f.n, s),
              charAcc: m.charAcc,
              exactMatch: m.exactMatch,
            });
          }
        }
        record.curve = curve;
        out.push(
          `adaptive at L = ${L}: ${pct(adaptivePasses / model.blockPasses)}% of the ${model.blockPasses}-pass budget per answer token (${adaptivePasses.toFixed(2)} passes), char acc ${pct(evals[String(L)]!.charAcc)}%`,
        );
        if (curve.length > 0) {
          out.push(
            'test-time compute (trained with ' +
              model.schedule.steps +
              ' steps; more steps reuse the last step embedding):',
          );
          out.push(
            table(
              ['steps', 'max passes', 'mean passes/token', 'char acc %', 'exact %'],
              curve.map((c) => [
                c.steps!,
                c.maxPasses!,
                c.meanPassesPerToken!.toFixed(2),
                pct(c.charAcc!),
                pct(c.exactMatch!),
              ]),
            ),
          );
        }
      }
      (f.json ? console.error : console.log)(out.join('\n'));
      if (f.json) process.stdout.write(JSON.stringify(record) + '\n');
      model.dispose();
    });
}
