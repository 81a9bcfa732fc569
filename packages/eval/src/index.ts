export { scoreAnswers, type AnswerMetrics } from './metrics.js';
export {
  evaluateLength,
  evaluateLengths,
  EVAL_DEFAULTS,
  EXAMPLES_KEPT,
  type EvalOptions,
  type EvalExample,
  type LengthResult,
} from './evaluate.js';
export { formatMetricsTable, table, pct, human, duration, gib } from './format.js';
