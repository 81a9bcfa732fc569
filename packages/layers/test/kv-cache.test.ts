/**
 * The KV-cache path of attention and the block: n new positions after the t cached ones give the full pass's
 * outputs at those positions (cpu and wasm; the full pass runs the depthwise attention core on wasm).
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ParamStore, Rng } from '@tarm/core';
import { describeOnBackends, expectNoLeaks } from '@tarm/test-utils/vitest';
import { block, createBlock, createEmbedding, embed } from '../src/index.js';
import { causalMask, causalMaskAt, disposeKvSlot, kvLength, type KvSlot } from '../src/attention.js';

const [B, T, C, H] = [3, 9, 16, 2];

function perturbed(seed: number) {
  const store = new ParamStore(new Rng(seed));
  const blk = createBlock(store, 'b', C, H);
  // LayerNorm gains and biases away from 1 / 0 and larger weights: differences would show
  for (const [, v] of store.entries())
    tf.tidy(() => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.3, 'float32', seed))));
  return { store, blk };
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describeOnBackends('KV cache', ['cpu', 'wasm'], () => {
  it.each([[[9]], [[1, 1, 1, 1, 1, 1, 1, 1, 1]], [[4, 1, 3, 1]], [[2, 7]]])(
    'block in chunks %j equals the full block',
    (chunks) => {
      const { store, blk } = perturbed(3);
      const h = tf.randomNormal([B, T, C], 0, 1, 'float32', 5) as tf.Tensor3D;
      const full = block(blk, h);
      const slot: KvSlot = {};
      causalMask(chunks[0]!); // the first chunk uses the shared causal mask, kept on purpose: create it before counting
      const parts: tf.Tensor[] = [];
      // only the outputs and the slot's two tensors survive the tidy
      expectNoLeaks(() => {
        let t = 0;
        for (const n of chunks) {
          parts.push(tf.tidy(() => block(blk, tf.slice(h, [0, t, 0], [B, n, C]), undefined, slot)));
          t += n;
          expect(kvLength(slot)).toBe(t);
          expect(slot.k!.shape).toEqual([B * H, t, C / H]);
        }
      }, chunks.length + 2);
      const cached = tf.concat(parts, 1);
      expect(maxDiff(cached, full)).toBeLessThan(1e-5);
      disposeKvSlot(slot);
      expect(slot.k).toBeUndefined();
      tf.dispose([h, full, cached, ...parts]);
      store.dispose();
    },
  );

  it('a wrong offset changes the result (the check can fail)', () => {
    const { store, blk } = perturbed(4);
    const h = tf.randomNormal([B, T, C], 0, 1, 'float32', 6) as tf.Tensor3D;
    const full = block(blk, h);
    const slot: KvSlot = {};
    tf.dispose(tf.tidy(() => block(blk, tf.slice(h, [0, 0, 0], [B, 4, C]), undefined, slot)));
    // the last 5 positions appended after only 4 cached ones, but fed positions 3..7 instead of 4..8
    const wrong = tf.tidy(() => block(blk, tf.slice(h, [0, 3, 0], [B, 5, C]), undefined, slot));
    const right = tf.slice(full, [0, 4, 0], [B, 5, C]);
    expect(maxDiff(wrong, right)).toBeGreaterThan(1e-3);
    disposeKvSlot(slot);
    tf.dispose([h, full, wrong, right]);
    store.dispose();
  });

  it('refuses dropout and a batch that does not match the slot', () => {
    const { store, blk } = perturbed(5);
    const slot: KvSlot = {};
    const h = tf.randomNormal([B, 2, C], 0, 1, 'float32', 7) as tf.Tensor3D;
    expect(() => tf.tidy(() => block(blk, h, { rate: 0.1, rng: new Rng(1) }, slot))).toThrow(/evaluation/);
    tf.dispose(tf.tidy(() => block(blk, h, undefined, slot)));
    const other = tf.zeros([B + 1, 1, C]) as tf.Tensor3D;
    expect(() => tf.tidy(() => block(blk, other, undefined, slot))).toThrow(RangeError);
    expect(kvLength(slot)).toBe(2);
    disposeKvSlot(slot);
    tf.dispose([h, other]);
    store.dispose();
  });
});

describeOnBackends('causalMaskAt and embed with an offset', ['cpu'], () => {
  it('causalMaskAt(n, t) is rows t..t+n-1 of the full causal mask', () => {
    for (const [n, t] of [
      [1, 0],
      [3, 0],
      [1, 5],
      [3, 4],
    ] as const) {
      const m = causalMaskAt(n, t);
      const ref = tf.slice(causalMask(t + n), [t, 0], [n, t + n]);
      expect(Array.from(m.dataSync())).toEqual(Array.from(ref.dataSync()));
      ref.dispose();
      if (t > 0) m.dispose(); // t = 0 is the shared, cached mask
    }
  });

  it('embeds positions offset..offset+n-1 and rejects positions past the context', () => {
    const store = new ParamStore(new Rng(1));
    const e = createEmbedding(store, 'e', 14, 10, C);
    const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
    const full = embed(e, ids);
    const tail = embed(e, tf.slice(ids, [0, 4], [1, 2]) as tf.Tensor2D, 4);
    expect(maxDiff(tail, tf.slice(full, [0, 4, 0], [1, 2, C]))).toBe(0);
    expect(() => embed(e, ids, 5)).toThrow(/positions 5\.\.10 exceed the context length 10/);
    expect(() => embed(e, ids, 4)).not.toThrow();
    tf.dispose([ids, full, tail]);
    store.dispose();
  });
});
