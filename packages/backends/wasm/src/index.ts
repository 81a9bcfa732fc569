import type { BackendAdapter, BackendOptions } from '@tarm/core';
import * as tf from '@tensorflow/tfjs-core';
import { selectTfBackend } from '@tarm/core';

let identityShared = false;

/**
 * The engine clones every tensor the tape saves for the backward pass, and wasm's Identity kernel copies the
 * buffer each time (~3% of a training step). Register an Identity that shares the input's buffer (reference
 * counted), as the cpu backend's Identity and wasm's own Reshape do: same values, no copy.
 */
function shareIdentityBuffers(): void {
  if (identityShared) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  identityShared = true;
}

/**
 * The default backend: WebAssembly with SIMD (XNNPACK). Works in Node and browsers with no download: the .wasm
 * files ship inside @tensorflow/tfjs-backend-wasm. Single-threaded in Node; parallelise across processes.
 */
export const adapter: BackendAdapter = {
  name: 'wasm',
  tfName: 'wasm',
  async setup(options?: BackendOptions) {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const inNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
    if (options?.wasmPaths !== undefined) wasm.setWasmPaths(options.wasmPaths as string);
    if (options?.threads !== undefined && !inNode) wasm.setThreadsCount(options.threads); // pages and workers
    await selectTfBackend('wasm');
    shareIdentityBuffers();
  },
};
