import type { BackendAdapter, BackendOptions } from '@tarm/core';
import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNELS, geluGradInto, geluInto, selectTfBackend } from '@tarm/core';

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

/** The parts of tfjs-backend-wasm's backend a JavaScript kernel needs: fresh outputs and views of its heap. */
interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

let fusedRegistered = false;

/**
 * @tarm/core's fused GELU kernels, in JavaScript over the wasm heap: one pass instead of 5 (forward) and 7
 * (backward) wasm kernels, two of them `erf` / `exp`, which wasm evaluates one libm call at a time.
 */
function registerFusedKernels(): void {
  if (fusedRegistered) return;
  const views = (backend: unknown, out: tf.TensorInfo, ...ins: tf.TensorInfo[]): Float32Array[] => {
    const bad = ins.find((t) => t.dtype !== 'float32');
    if (bad) throw new TypeError(`${FUSED_KERNELS.gelu}: inputs must be float32, got ${bad.dtype}`);
    // views after makeOutput: growing the heap detaches earlier ones
    const heap = backend as WasmHeap;
    return [...ins, out].map((t) => heap.typedArrayFromHeap(t));
  };
  tf.registerKernel({
    kernelName: FUSED_KERNELS.gelu,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      const out = (backend as unknown as WasmHeap).makeOutput(x.shape, 'float32');
      const [xv, yv] = views(backend, out, x) as [Float32Array, Float32Array];
      geluInto(xv, yv);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: FUSED_KERNELS.geluGrad,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
      const out = (backend as unknown as WasmHeap).makeOutput(x.shape, 'float32');
      const [xv, dyv, dxv] = views(backend, out, x, dy) as [Float32Array, Float32Array, Float32Array];
      geluGradInto(xv, dyv, dxv);
      return out;
    },
  });
  fusedRegistered = true;
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
    registerFusedKernels();
  },
};
