import type * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '@tarm/core';
import { createLinear, linear, type LinearParams } from './linear.js';
import { gelu } from './gelu.js';

export interface MlpParams {
  readonly fc: LinearParams; // [C, 4C] + bias
  readonly proj: LinearParams; // [4C, C] + bias
}

export function createMlp(store: ParamStore, name: string, dModel: number): MlpParams {
  return {
    fc: createLinear(store, `${name}.fc`, dModel, 4 * dModel, true),
    proj: createLinear(store, `${name}.proj`, 4 * dModel, dModel, true),
  };
}

/** Linear(C, 4C) -> GELU -> Linear(4C, C). x: [B, T, C] -> [B, T, C]. */
export function mlp(p: MlpParams, x: tf.Tensor): tf.Tensor {
  return linear(p.proj, gelu(linear(p.fc, x)));
}
