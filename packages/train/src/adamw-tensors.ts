import * as tf from '@tensorflow/tfjs-core';
import { AdamWState, type Grads } from './adamw-state.js';

/**
 * AdamW's arithmetic as float32 tfjs ops on the active backend (~13 kernels per parameter), inside `tf.tidy`;
 * parameters, moments (tf.Variables) and EMA weights are assigned in place.
 */
export class TensorArithmetic extends AdamWState<tf.Variable> {
  apply(grads: Grads): void {
    const { lr, beta1, beta2, eps, weightDecay } = this.config;
    for (const [name, p] of this.params) {
      const g = grads[name];
      if (g == null) continue;
      const slot = this.slot(name, () => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      slot.step += 1;
      const t = slot.step;
      // Scalars computed in float64 in JS, then used as float32 constants (torch computes them in Python floats too).
      const decay = 1 - lr * weightDecay;
      const stepSize = lr / (1 - beta1 ** t);
      const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
      tf.tidy(() => {
        const m = tf.add(tf.mul(slot.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(slot.v, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps);
        const decayed = weightDecay === 0 ? p : tf.mul(p, decay);
        const next = tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize));
        slot.m.assign(m);
        slot.v.assign(v);
        p.assign(next);
      });
    }
    this.updateEma();
  }

  /** shadow = d * shadow + (1 - d) * weight for every parameter (the shadow starts at the first weights). */
  private updateEma(): void {
    const d = this.config.ema;
    if (d === 0) return;
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const sh = this.shadows.get(name);
        if (!sh) this.shadows.set(name, tf.variable(p, false));
        else sh.assign(tf.add(tf.mul(sh, d), tf.mul(p, 1 - d)));
      }
    });
  }

  // Clones and variables share storage (reference counted) until the next update replaces it.
  protected toTensor(s: tf.Variable): tf.Tensor {
    return tf.clone(s);
  }
  protected fromTensor(t: tf.Tensor): tf.Variable {
    return tf.variable(t, false);
  }
  protected free(s: tf.Variable): void {
    s.dispose();
  }
  protected assignTo(p: tf.Variable, s: tf.Variable): void {
    p.assign(s);
  }
}
