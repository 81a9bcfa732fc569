/**
 * @tarm/eval: answer-character metrics (`scoreAnswers`) and evaluation of any `CausalLM` at one or several
 * lengths (`evaluateLength`, `evaluateLengths`, the paper's settings in `EVAL_DEFAULTS`), with a table of the
 * results. The text formatting helpers the CLI and the study report share are in `@tarm/eval/internal` (not part
 * of the public API).
 */
export { scoreAnswers, type AnswerMetrics } from './metrics.js';
export { evaluateLength, evaluateLengths, type EvalOptions, type EvalExample, type LengthResult } from './evaluate.js';
export { EVAL_SETTINGS, EVAL_DEFAULTS } from './settings.js';
export { formatMetricsTable } from './format.js';
