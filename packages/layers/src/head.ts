import type * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '@tarm/core';
import { createLayerNorm, layerNorm, type LayerNormParams } from './norm.js';
import { createLinear, linear, type LinearParams } from './linear.js';

/** Readout: logits = Linear(C, V)(LN_f(h)); the linear has no bias (as nanoGPT's lm_head). */
export interface HeadParams {
  readonly lnF: LayerNormParams;
  readonly out: LinearParams; // [C, V]
}

export function createHead(store: ParamStore, name: string, dModel: number, vocabSize: number): HeadParams {
  return {
    lnF: createLayerNorm(store, `${name}.ln_f`, dModel),
    out: createLinear(store, `${name}.out`, dModel, vocabSize, false),
  };
}

/** h: [B, T, C] -> logits [B, T, V]. */
export function readout(p: HeadParams, h: tf.Tensor3D): tf.Tensor3D {
  return linear(p.out, layerNorm(p.lnF, h)) as tf.Tensor3D;
}
