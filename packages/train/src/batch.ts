import * as tf from '@tensorflow/tfjs-core';
import type { TensorBatch } from '@tarm/core';
import { trainingBatch, type Batch, type Task } from '@tarm/tasks';

/** Uploads a host batch: inputs/targets int32 [B, T], mask float32 [B, T]. The caller disposes the result. */
export function batchToTensors(b: Batch): TensorBatch {
  const shape: [number, number] = [b.batchSize, b.seqLen];
  return {
    inputs: tf.tensor2d(b.inputs, shape, 'int32'),
    targets: tf.tensor2d(b.targets, shape, 'int32'),
    mask: tf.tensor2d(b.mask, shape, 'float32'),
  };
}

/** The tensors of training batch `step` of the seeded stream ({@link trainingBatch}). */
export function trainingTensorBatch(task: Task, L: number, batchSize: number, seed: number, step: number): TensorBatch {
  return batchToTensors(trainingBatch(task, L, batchSize, seed, step));
}

export function disposeBatch(b: TensorBatch): void {
  b.inputs.dispose();
  b.targets.dispose();
  b.mask.dispose();
}
