import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs `f` off the gradient tape and returns its result as a constant: nothing computed inside is recorded,
 * so no gradient flows back through it and no backward work is spent on it (tfjs has no stopGradient).
 * Implementation: the forward function of a zero-input customGrad runs with recording paused.
 */
export function offTape<T extends tf.Tensor>(f: () => T): T {
  return tf.customGrad(((save: tf.GradSaveFunc) => {
    void save;
    return { value: tf.tidy(f), gradFunc: () => [] };
  }) as unknown as Parameters<typeof tf.customGrad>[0])() as T;
}

/** `x` detached from the graph (PyTorch's `x.detach()`): same values, no gradient to whatever produced it. */
export function detach<T extends tf.Tensor>(x: T): T {
  return offTape(() => tf.clone(x));
}
