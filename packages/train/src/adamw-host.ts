import * as tf from '@tensorflow/tfjs-core';
import type { ResolvedAdamWConfig } from './adamw-config.js';
import { AdamWState, type Grads } from './adamw-state.js';

/**
 * AdamW's arithmetic in float64 JavaScript numbers over synchronously read (`dataSync`) gradients and weights, one
 * loop per parameter (decay, moments, update and EMA in one pass); moments and EMA as Float32Arrays, the new weights
 * written back with one upload per parameter. Never writes into a `dataSync()` result: on the cpu backend it is the
 * tensor's own storage, and so is an array handed to `tf.tensor`, hence fresh arrays for every upload.
 */
export class HostArithmetic extends AdamWState<Float32Array> {
  apply(grads: Grads): void {
    const { lr, beta1, beta2, weightDecay, ema } = this.config;
    const decay = 1 - lr * weightDecay;
    const ce = 1 - ema;
    for (const [name, p] of this.params) {
      const g = grads[name];
      const shadow = ema > 0 ? this.shadows.get(name) : undefined;
      if (g == null) {
        // No update, but the weight average still moves towards the (unchanged) weight, as on tensors.
        if (ema > 0) {
          const pv = p.dataSync();
          if (!shadow) this.shadows.set(name, Float32Array.from(pv));
          else for (let i = 0; i < shadow.length; i++) shadow[i] = ema * shadow[i]! + ce * pv[i]!;
        }
        continue;
      }
      const slot = this.slot(name, () => new Float32Array(p.size));
      slot.step += 1;
      const t = slot.step;
      const next = new Float32Array(p.size);
      const stepSize = lr / (1 - beta1 ** t);
      // 1 / sqrt(1 - beta2^t) as a factor: one division less per element (float64; the same to float32 rounding).
      const invBc2Sqrt = 1 / Math.sqrt(1 - beta2 ** t);
      hostUpdate(
        g.dataSync(),
        p.dataSync(),
        slot.m,
        slot.v,
        next,
        shadow ?? null,
        decay,
        stepSize,
        invBc2Sqrt,
        this.config,
      );
      if (ema > 0 && !shadow) this.shadows.set(name, next.slice()); // the average starts at the first updated weights
      tf.tidy(() => {
        p.assign(tf.tensor(next, p.shape, 'float32'));
      });
    }
  }

  protected toTensor(s: Float32Array, name: string): tf.Tensor {
    return tf.tensor(s.slice(), this.params.get(name)!.shape, 'float32'); // a copy: `s` changes in place
  }
  protected fromTensor(t: tf.Tensor): Float32Array {
    return Float32Array.from(t.dataSync());
  }
  protected free(): void {}
  protected assignTo(p: tf.Variable, s: Float32Array, name: string): void {
    tf.tidy(() => p.assign(this.toTensor(s, name)));
  }
}

/**
 * One host AdamW step of one parameter, in float64 per element: reads `gv` (gradient) and `pv` (weights), updates
 * the moments `m`, `v` in place, writes the new weights to `next` and, with a `shadow`, moves the EMA towards them
 * (shadow = d * shadow + (1 - d) * next, as float32 weights). A plain function over typed arrays, so V8 compiles
 * one tight loop.
 */
function hostUpdate(
  gv: ArrayLike<number>,
  pv: ArrayLike<number>,
  m: Float32Array,
  v: Float32Array,
  next: Float32Array,
  shadow: Float32Array | null,
  decay: number,
  stepSize: number,
  invBc2Sqrt: number,
  c: ResolvedAdamWConfig,
): void {
  const { beta1, beta2, eps, ema } = c;
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  const n = next.length;
  if (shadow === null) {
    for (let i = 0; i < n; i++) {
      const gi = gv[i]!;
      const mi = beta1 * m[i]! + c1 * gi;
      const vi = beta2 * v[i]! + c2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      next[i] = pv[i]! * decay - stepSize * (mi / (Math.sqrt(vi) * invBc2Sqrt + eps));
    }
    return;
  }
  const ce = 1 - ema;
  for (let i = 0; i < n; i++) {
    const gi = gv[i]!;
    const mi = beta1 * m[i]! + c1 * gi;
    const vi = beta2 * v[i]! + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const pn = Math.fround(pv[i]! * decay - stepSize * (mi / (Math.sqrt(vi) * invBc2Sqrt + eps)));
    next[i] = pn;
    shadow[i] = ema * shadow[i]! + ce * pn;
  }
}
