import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNELS } from '@tarm/core';

/**
 * @tarm/core's fused LayerNorm and column-sum kernels as single libtensorflow ops. tfjs-node runs every tfjs op as
 * one eager TensorFlow call (~7-35 us of dispatch each, plus TensorFlow's own elementwise kernels, ~3x slower than
 * PyTorch's on these shapes), so fewer, larger ops is the lever:
 *
 * - LayerNorm's normalisation is TensorFlow's `FusedBatchNormV3` in training mode on x viewed as NCHW [1, M, C, 1]:
 *   every row is a "channel", normalised over its C values with biased variance, exactly LayerNorm without gain
 *   and bias. Its gradient is `FusedBatchNormGradV3` with scale 1 (one op instead of ~9 tfjs ops each way).
 * - Column sums are `BiasAddGrad` (the bias gradient: sum over all but the last axis), ~2-5x faster than `Sum`
 *   over axis 0 here.
 *
 * The constants these ops take (scale 1, offset 0, empty mean/variance, target shapes) are created once per size
 * as raw TensorFlow handles and reused; intermediate handles (4-D views, unused outputs) are freed right away.
 * None of them is a tfjs tensor, so `tf.memory()` does not see them.
 */

/** What these kernels use of tfjs-node's backend (NodeJSKernelBackend). */
interface TfBinding {
  TF_FLOAT: number;
  TF_INT32: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_FLOAT: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_STRING: number;
  createTensor(shape: number[], dtype: number, values: Float32Array | Int32Array): number;
  executeOp(name: string, attrs: OpAttr[], inputIds: number[], numOutputs: number): TensorMetadata[];
  deleteTensor(id: number): void;
}
interface TensorMetadata {
  id: number;
  shape: number[];
  dtype: number;
}
interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}
interface NodeBackend {
  binding: TfBinding;
  getInputTensorIds(tensors: tf.TensorInfo[]): number[];
  createOutputTensor(metadata: TensorMetadata): tf.Tensor;
}

/** Raw handles of constants, by key; kept for the life of the process (a few per distinct M or shape). */
class ConstantHandles {
  private readonly ids = new Map<string, number>();
  constructor(private readonly binding: TfBinding) {}

  /** A float32 vector of `n` copies of `value`. */
  filled(n: number, value: number): number {
    return this.get(`f${value}:${n}`, () =>
      this.binding.createTensor([n], this.binding.TF_FLOAT, new Float32Array(n).fill(value)),
    );
  }

  /** An int32 shape vector, for Reshape. */
  shape(dims: readonly number[]): number {
    return this.get(`s${dims.join(',')}`, () =>
      this.binding.createTensor([dims.length], this.binding.TF_INT32, Int32Array.from(dims)),
    );
  }

  private get(key: string, make: () => number): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = make();
      this.ids.set(key, id);
    }
    return id;
  }
}

function checkFloat32(kernel: string, ...ts: tf.TensorInfo[]): void {
  const bad = ts.find((t) => t.dtype !== 'float32');
  if (bad) throw new TypeError(`${kernel}: inputs must be float32, got ${bad.dtype}`);
}

function check2d(kernel: string, t: tf.TensorInfo): [number, number] {
  if (t.shape.length !== 2) throw new RangeError(`${kernel}: expected a 2-D input, got shape [${t.shape}]`);
  return t.shape as [number, number];
}

let registered = false;

/** Registers the kernels for the 'tensorflow' backend (once; tfjs-node must be loaded). */
export function registerFusedKernels(): void {
  if (registered) return;
  const backendName = 'tensorflow';
  let consts: ConstantHandles | undefined;
  const env = (backend: unknown) => {
    const be = backend as NodeBackend;
    consts ??= new ConstantHandles(be.binding);
    return { be, b: be.binding, consts };
  };
  const typeAttrs = (b: TfBinding, eps: number, withAvg: boolean): OpAttr[] => [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'U', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: eps },
    ...(withAvg ? [{ name: 'exponential_avg_factor', type: b.TF_ATTR_FLOAT, value: 1 }] : []),
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NCHW' },
    { name: 'is_training', type: b.TF_ATTR_BOOL, value: true },
  ];
  const reshape = (b: TfBinding, c: ConstantHandles, id: number, dims: readonly number[]): number => {
    const attrs: OpAttr[] = [
      { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
      { name: 'Tshape', type: b.TF_ATTR_TYPE, value: b.TF_INT32 },
    ];
    return b.executeOp('Reshape', attrs, [id, c.shape(dims)], 1)[0]!.id;
  };

  tf.registerKernel({
    kernelName: FUSED_KERNELS.layerNorm,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x as tf.TensorInfo;
      checkFloat32(FUSED_KERNELS.layerNorm, x);
      const [M, C] = check2d(FUSED_KERNELS.layerNorm, x);
      const eps = (attrs as { eps: number }).eps;
      const { be, b, consts: c } = env(backend);
      const x4 = reshape(b, c, be.getInputTensorIds([x])[0]!, [1, M, C, 1]); // NCHW: M channels of C values
      const empty = c.filled(0, 0);
      // outputs: y, batch_mean, batch_var (unbiased), reserve_1 (mean), reserve_2 (biased var), reserve_3
      const out = b.executeOp(
        'FusedBatchNormV3',
        typeAttrs(b, eps, true),
        [x4, c.filled(M, 1), c.filled(M, 0), empty, empty],
        6,
      );
      b.deleteTensor(x4);
      b.deleteTensor(out[1]!.id);
      b.deleteTensor(out[2]!.id);
      const y = reshape(b, c, out[0]!.id, [M, C]);
      b.deleteTensor(out[0]!.id);
      return [
        be.createOutputTensor({ id: y, shape: [M, C], dtype: b.TF_FLOAT }),
        be.createOutputTensor(out[3]!),
        be.createOutputTensor(out[4]!),
        be.createOutputTensor(out[5]!),
      ];
    },
  });

  tf.registerKernel({
    kernelName: FUSED_KERNELS.layerNormGrad,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { g, x, saved0, saved1, saved2 } = inputs as Record<string, tf.TensorInfo>;
      if (!g || !x || !saved0 || !saved1 || !saved2)
        throw new Error(
          `${FUSED_KERNELS.layerNormGrad}: needs g, x and the 3 saved tensors of ${FUSED_KERNELS.layerNorm}`,
        );
      checkFloat32(FUSED_KERNELS.layerNormGrad, g, x);
      const [M, C] = check2d(FUSED_KERNELS.layerNormGrad, x);
      const eps = (attrs as { eps: number }).eps;
      const { be, b, consts: c } = env(backend);
      const [gId, xId, r1, r2, r3] = be.getInputTensorIds([g, x, saved0, saved1, saved2]) as [
        number,
        number,
        number,
        number,
        number,
      ];
      const g4 = reshape(b, c, gId, [1, M, C, 1]);
      const x4 = reshape(b, c, xId, [1, M, C, 1]);
      // outputs: x_backprop, scale_backprop, offset_backprop, reserve_4, reserve_5
      const out = b.executeOp(
        'FusedBatchNormGradV3',
        typeAttrs(b, eps, false),
        [g4, x4, c.filled(M, 1), r1, r2, r3],
        5,
      );
      b.deleteTensor(g4);
      b.deleteTensor(x4);
      for (const o of out.slice(1)) b.deleteTensor(o.id);
      const dx = reshape(b, c, out[0]!.id, [M, C]);
      b.deleteTensor(out[0]!.id);
      return be.createOutputTensor({ id: dx, shape: [M, C], dtype: b.TF_FLOAT });
    },
  });

  tf.registerKernel({
    kernelName: FUSED_KERNELS.sumRows,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      checkFloat32(FUSED_KERNELS.sumRows, x);
      check2d(FUSED_KERNELS.sumRows, x);
      const { be, b } = env(backend);
      const attrs: OpAttr[] = [
        { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
        { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
      ];
      return be.createOutputTensor(b.executeOp('BiasAddGrad', attrs, be.getInputTensorIds([x]), 1)[0]!);
    },
  });
  registered = true;
}
