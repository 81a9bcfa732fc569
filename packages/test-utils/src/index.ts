/**
 * @tarm/test-utils: helpers shared by the packages' tests and the conformance suite. Private (never published),
 * no import side effects. This entry needs no test runner (the conformance cases use it at run time); the helpers
 * that call vitest are in `@tarm/test-utils/vitest`.
 */
export { f32, i32, maxAbsDiff, PARITY_TOL, readFixture, type Enc } from './fixtures.js';
export { AdamW64, type AdamW64Config } from './adamw64.js';
export { importCircles, importGraph } from './imports.js';
