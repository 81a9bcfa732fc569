import * as tf from '@tensorflow/tfjs-core';
import { Rng, mixSeeds, type TensorBatch } from '@tarm/core';
import { causalMask } from '@tarm/layers/internal';
import { AdamW, type AdamWConfig } from '@tarm/train';
import { AdamW64 } from '@tarm/test-utils';
import type { ConformanceCase } from '../harness.js';
import { TINY_STACK, layerStack, shiftBatch } from './layers.js';

/**
 * eps 1e-3 rather than 1e-8: with eps far below |g|, a step moves a weight by ~lr * sign(g), so a gradient that
 * is ~0 up to rounding (and differs in sign between backends) would move it by +-lr; a larger eps keeps the update
 * a smooth function of the gradient, so the backends can be compared within a tolerance.
 */
const CONFIG = {
  lr: 1e-2,
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-3,
  weightDecay: 0.1,
  ema: 0.9,
} as const satisfies AdamWConfig;
const STEPS = 2;

/** Largest |got - want| over the largest |want| (0 for two zero arrays). */
function scaledError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err === 0 ? 0 : err / Math.max(scale, 1e-30);
}

/**
 * Two AdamW steps (weight decay and an EMA on, arithmetic 'auto': the host loop on cpu and node, tensors on wasm
 * and webgpu) on the small layer stack, each after a forward pass and gradients of the same batch. Outputs:
 * `loss.<step>`, `param.<name>` after the last step and the optimizer state (`optimizer.{m,v,ema}.<name>`), compared
 * with cpu. On the backend itself the result must also equal a float64 torch.optim.AdamW fed with that backend's
 * own gradients (a note fails the case otherwise). Only asynchronous reads in the case (webgpu).
 */
export const OPTIMIZER_CASES: ConformanceCase[] = [
  {
    name: "AdamW (arithmetic 'auto'): 2 steps of the layer stack, decay and EMA on",
    tolerance: {
      default: { atol: 1e-4, rtol: 1e-3 },
      'loss.': { atol: 1e-5, rtol: 1e-4 },
      'optimizer.m.': { atol: 1e-6, rtol: 2e-3 },
      'optimizer.v.': { atol: 1e-8, rtol: 4e-3 },
    },
    prepare: () => void causalMask(TINY_STACK.context),
    async run(seed) {
      const model = layerStack(TINY_STACK, seed);
      const entries = model.params.entries();
      const opt = new AdamW(model.params, CONFIG);
      const arithmetic = opt.arithmetic;
      const refs = new Map<string, AdamW64>();
      for (const [name, v] of entries) refs.set(name, new AdamW64(Float64Array.from(await v.data()), CONFIG));
      const d = shiftBatch(new Rng(mixSeeds(seed, 11)), 4, TINY_STACK.context, TINY_STACK.vocab);
      const batch: TensorBatch = {
        inputs: tf.tensor2d(d.inputs, [d.B, d.T], 'int32'),
        targets: tf.tensor2d(d.targets, [d.B, d.T], 'int32'),
        mask: tf.tensor2d(d.mask, [d.B, d.T], 'float32'),
      };
      const outputs: Record<string, Float32Array> = {};
      const notes: string[] = [];
      const losses: number[] = [];
      for (let step = 0; step < STEPS; step++) {
        const { value, grads } = tf.variableGrads(
          () => model.loss(batch, mixSeeds(seed, step, 4)).loss,
          entries.map(([, v]) => v),
        );
        const named: Record<string, tf.Tensor> = {};
        for (const [name, v] of entries) {
          const g = grads[v.name];
          if (!g) throw new Error(`no gradient for ${name}`);
          named[name] = g;
          refs.get(name)!.step(await g.data());
        }
        opt.apply(named);
        losses.push((await value.data())[0]!);
        outputs[`loss.${step}`] = Float32Array.of(losses[step]!);
        value.dispose();
        tf.dispose(Object.values(grads));
      }
      tf.dispose([batch.inputs, batch.targets, batch.mask]);
      const state = opt.state();
      let worst = 0;
      for (const [name, v] of entries) {
        const ref = refs.get(name)!;
        const got = {
          [`param.${name}`]: [await v.data(), ref.p],
          [`optimizer.m.${name}`]: [await state[`optimizer.m.${name}`]!.data(), ref.m],
          [`optimizer.v.${name}`]: [await state[`optimizer.v.${name}`]!.data(), ref.v],
          [`optimizer.ema.${name}`]: [await state[`optimizer.ema.${name}`]!.data(), ref.ema!],
        } as Record<string, [ArrayLike<number>, Float64Array]>;
        for (const [key, [values, want]] of Object.entries(got)) {
          outputs[key] = Float32Array.from(values);
          const err = scaledError(values, want);
          worst = Math.max(worst, err);
          // float32 state against the float64 reference: a few float32 roundings, relative to the tensor's scale.
          if (!(err <= 1e-5))
            notes.push(
              `${key} differs from the float64 AdamW reference on these gradients: ${err.toExponential(2)} of its scale`,
            );
        }
        const step = (await state[`optimizer.step.${name}`]!.data())[0];
        if (step !== STEPS) notes.push(`optimizer.step.${name} is ${step}, expected ${STEPS}`);
      }
      tf.dispose(Object.values(state));
      opt.dispose();
      model.dispose();
      return {
        outputs,
        notes,
        summary: `arithmetic ${arithmetic}; loss ${losses.map((l) => l.toFixed(4)).join(' -> ')}; vs float64 reference ${worst.toExponential(1)} of scale`,
      };
    },
  },
];
