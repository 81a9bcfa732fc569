import type * as tf from '@tensorflow/tfjs-core';
import type { TrainableLM } from '@tarm/core';
export function maskedCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar;
export function createTinyLM(opts?: {
  seed?: number;
  dModel?: number;
  nHeads?: number;
  dropout?: number;
  unused?: boolean;
}): TrainableLM;
export function paramValues(lm: TrainableLM): Promise<Record<string, number[]>>;
