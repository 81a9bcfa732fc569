import { z } from 'zod';
import { setting, settingDefaults } from '@tarm/core/internal';
import { DECODE_STRATEGIES, PAPER_DECODE } from '@tarm/tasks';

/**
 * A run's evaluation settings, each declared once (schema, default, meaning; @tarm/core `Setting`): `tarm train`'s
 * flags and the study file's keys are made from this table; a run's config.json stores them under `eval` without
 * the prefix (`evalLengths` is `eval.lengths`). Defaults are the paper's (paper.md, "Training and evaluation"): 100
 * problems per length at L = 10 to 50, decoded by sampling at temperature 1 (PAPER_DECODE).
 */
export const EVAL_SETTINGS = {
  evalLengths: setting({
    schema: z
      .array(z.int().min(1))
      .min(1)
      .default(() => [10, 20, 30, 40, 50]),
    doc: 'evaluation lengths (the training length among them: the headline number is read there)',
    arg: 'list',
  }),
  evalN: setting({ schema: z.int().min(1).default(100), doc: 'evaluation problems per length', arg: 'n' }),
  decode: setting({
    schema: z.enum(DECODE_STRATEGIES).default(PAPER_DECODE.strategy),
    doc: 'answer decoding at evaluation (the paper: sample, T = 1)',
    arg: 'how',
  }),
  temperature: setting({
    schema: z.number().gt(0).default(PAPER_DECODE.temperature),
    doc: 'sampling temperature',
    arg: 'T',
  }),
} as const;

const D = settingDefaults(EVAL_SETTINGS);
/** The paper's evaluation, in {@link EvalOptions}' words: every default of {@link EVAL_SETTINGS}. */
export const EVAL_DEFAULTS = Object.freeze({
  lengths: Object.freeze([...D.evalLengths]),
  n: D.evalN,
  decode: D.decode,
  temperature: D.temperature,
});
