/** The helpers that call vitest (describe, beforeAll, expect): import them from test files only. */
export { describeOnBackends, testBackends } from './backends.js';
export { expectNoLeaks } from './leaks.js';
