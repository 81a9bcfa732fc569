import type { BackendAdapter, BackendOptions } from '@tarm/core';
import { selectTfBackend } from '@tarm/core';

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
  },
};
