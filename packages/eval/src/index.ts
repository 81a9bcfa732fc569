export { scoreAnswers, type AnswerMetrics } from './metrics.js';
export { evaluateLength, evaluateLengths, EXAMPLES_KEPT, type EvalOptions, type EvalExample, type LengthResult } from './evaluate.js';
export { formatMetricsTable, table, pct, human, duration, gib } from './format.js';
