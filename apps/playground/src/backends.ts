/**
 * Backend start-up inside the worker. The tarm adapters do the registration; the playground adds what only an
 * app can know: where Vite put the .wasm files. Adapters are passed as objects: `useBackend('wasm')` imports a
 * package by name at run time, which a browser cannot resolve.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@tarm/core';
import { adapter as wasmAdapter } from '@tarm/backend-wasm';
import { adapter as cpuAdapter } from '@tarm/backend-cpu';
import { adapter as webgpuAdapter, webgpuAdapterInfo } from '@tarm/backend-webgpu';
// Vite copies these into the build and gives their hashed URLs; tfjs fetches the one it needs at setup.
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { BackendChoice } from './protocol.js';

/** Registers gradients and the chosen backend, selects it; returns a line describing it. */
export async function startBackend(choice: BackendChoice): Promise<string> {
  if (choice === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': wasmPlainUrl,
      'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
    });
    await useBackend(wasmAdapter);
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = wasm.getThreadsCount();
    return `WebAssembly${simd ? ' + SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'}`;
  }
  if (choice === 'webgpu') {
    await useBackend(webgpuAdapter); // a BackendError saying why when navigator.gpu gives no adapter
    return `WebGPU on ${webgpuAdapterInfo()?.description ?? 'an unnamed adapter'}`;
  }
  await useBackend(cpuAdapter);
  return 'plain JavaScript (slow reference backend)';
}
