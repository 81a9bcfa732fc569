import type { BackendAdapter, BackendOptions } from '@tarm/core';
import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNELS, selectTfBackend } from '@tarm/core';
import { geluGradInto, geluInto } from './gelu-math.js';
import { layerNormGradInto, layerNormInto, sumRowsInto } from './norm-math.js';

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
 * @tarm/core's fused kernels, in JavaScript over the wasm heap:
 * - GELU: one pass instead of 5 (forward) and 7 (backward) wasm kernels, two of them `erf` / `exp`, which wasm
 *   evaluates one libm call at a time;
 * - LayerNorm's normalisation and its gradient: one pass per row instead of ~9 and ~13 kernels (saved for the
 *   gradient: rstd [M]);
 * - column sums: one pass instead of `ones @ t` through XNNPACK (`Sum` over rows is slower still there).
 */
function registerFusedKernels(): void {
  if (fusedRegistered) return;
  // Checked before any output is made (an output made and not returned would never be freed).
  const float32 = (kernel: string, ...ins: tf.TensorInfo[]): void => {
    const bad = ins.find((t) => t.dtype !== 'float32');
    if (bad) throw new TypeError(`${kernel}: inputs must be float32, got ${bad.dtype}`);
  };
  const views = (backend: unknown, outs: tf.TensorInfo | tf.TensorInfo[], ...ins: tf.TensorInfo[]): Float32Array[] => {
    // views after makeOutput: growing the heap detaches earlier ones
    const heap = backend as WasmHeap;
    return [...ins, ...(Array.isArray(outs) ? outs : [outs])].map((t) => heap.typedArrayFromHeap(t));
  };
  const rows = (kernel: string, t: tf.TensorInfo): [number, number] => {
    if (t.shape.length !== 2) throw new RangeError(`${kernel}: expected a 2-D input, got shape [${t.shape}]`);
    return t.shape as [number, number];
  };
  tf.registerKernel({
    kernelName: FUSED_KERNELS.gelu,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      float32(FUSED_KERNELS.gelu, x);
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
      float32(FUSED_KERNELS.geluGrad, dy, x);
      const out = (backend as unknown as WasmHeap).makeOutput(x.shape, 'float32');
      const [xv, dyv, dxv] = views(backend, out, x, dy) as [Float32Array, Float32Array, Float32Array];
      geluGradInto(xv, dyv, dxv);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: FUSED_KERNELS.layerNorm,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x as tf.TensorInfo;
      const [M, C] = rows(FUSED_KERNELS.layerNorm, x);
      float32(FUSED_KERNELS.layerNorm, x);
      const heap = backend as unknown as WasmHeap;
      const outs = [heap.makeOutput([M, C], 'float32'), heap.makeOutput([M], 'float32')];
      const [xv, xhat, rstd] = views(backend, outs, x) as [Float32Array, Float32Array, Float32Array];
      layerNormInto(xv, M, C, (attrs as { eps: number }).eps, xhat, rstd);
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: FUSED_KERNELS.layerNormGrad,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const { g, x, saved0 } = inputs as Record<string, tf.TensorInfo>;
      if (!g || !x || !saved0)
        throw new Error(`${FUSED_KERNELS.layerNormGrad}: needs g, x and the saved rstd of ${FUSED_KERNELS.layerNorm}`);
      const [M, C] = rows(FUSED_KERNELS.layerNormGrad, x);
      float32(FUSED_KERNELS.layerNormGrad, g, x, saved0);
      const out = (backend as unknown as WasmHeap).makeOutput([M, C], 'float32');
      const [gv, xv, rstd, dx] = views(backend, out, g, x, saved0) as [
        Float32Array,
        Float32Array,
        Float32Array,
        Float32Array,
      ];
      layerNormGradInto(gv, xv, rstd, M, C, dx);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: FUSED_KERNELS.sumRows,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      const [M, N] = rows(FUSED_KERNELS.sumRows, x);
      float32(FUSED_KERNELS.sumRows, x);
      const out = (backend as unknown as WasmHeap).makeOutput([N], 'float32');
      const [xv, sums] = views(backend, out, x) as [Float32Array, Float32Array];
      sumRowsInto(xv, M, N, sums);
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
  memoryLimitBytes: 4294901760, // the wasm32 heap's maximum (Emscripten's getHeapMax in tfjs-backend-wasm 4.22)
  // XNNPACK's fast path wants plain 2-D matMuls (platform.md); its reads copy out of the heap, so AdamW stays on
  // tensors (docs/decisions.md)
  capabilities: { matMulTransposeFlags: false, batchedMatMul: false, sumOverRows: false },
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
