/**
 * @tarm/backend-node: the adapter (`adapter`, for `useBackend`) and which tfjs-node package it loaded
 * (`loadedNodePackage`). Everything else here is the adapter's own.
 */
import type { BackendAdapter } from '@tarm/core';
import { BackendError, selectTfBackend } from '@tarm/core';
import { explainLoadError, type NodePackage } from './explain.js';
import { registerFusedKernels } from './kernels.js';
import { pickNodePackage } from './pick.js';

export type { NodePackage } from './explain.js';

let loaded: NodePackage | undefined;

/**
 * The TensorFlow C library through `@tensorflow/tfjs-node` (or `-gpu`): the fast CPU backend in Node
 * (~5x wasm on the reference model). tfjs-node is an optional peer dependency: `npm install @tensorflow/tfjs-node`
 * with network access, or `npx tarm-setup-node` to build it offline from a TensorFlow wheel (README).
 *
 * TensorFlow's own INFO logs are silenced unless TF_CPP_MIN_LOG_LEVEL is already set. Registers @tarm/core's fused
 * LayerNorm and column-sum kernels as single TensorFlow ops (kernels.ts).
 */
export const adapter: BackendAdapter = {
  name: 'node',
  tfName: 'tensorflow',
  capabilities: { hostOptimizer: true }, // every op is a libtensorflow eager call (~10-60 us of dispatch)
  async setup() {
    if (!loaded) {
      const pkg = pickNodePackage();
      if (pkg === undefined) {
        const missing = Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node'"), {
          code: 'ERR_MODULE_NOT_FOUND',
        });
        throw new BackendError('node', explainLoadError('@tensorflow/tfjs-node', missing));
      }
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
      try {
        await import(/* @vite-ignore */ pkg as string);
      } catch (e) {
        throw new BackendError('node', explainLoadError(pkg, e));
      }
      loaded = pkg;
    }
    await selectTfBackend('tensorflow');
    registerFusedKernels();
  },
};

/** Which package setup() loaded (undefined before a successful setup). */
export function loadedNodePackage(): NodePackage | undefined {
  return loaded;
}
