/**
 * @tarm/eval/internal: the text formatting helpers (tables, percentages, sizes, durations) that the CLI,
 * @tarm/study and @tarm/queue share. Not part of the public API; may change in any release.
 */
export { table, pct, human, duration, gib } from './format.js';
