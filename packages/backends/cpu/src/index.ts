import * as tf from '@tensorflow/tfjs-core';
import type { BackendAdapter } from '@tarm/core';
import { selectTfBackend } from '@tarm/core';

/** Plain JavaScript reference backend: slow, simple, the yardstick the other backends are checked against. */
export const adapter: BackendAdapter = {
  name: 'cpu',
  tfName: 'cpu',
  capabilities: { hostOptimizer: true }, // every op allocates in JavaScript: one float64 loop is cheaper
  async setup() {
    await import('@tensorflow/tfjs-backend-cpu');
    await selectTfBackend('cpu');
    // tfjs-backend-cpu prints a "use tfjs-node" banner on first use in Node; tarm chose this backend on purpose.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  },
};
