/**
 * Dropout masks are written in JavaScript from the seeded sfc32 stream: they must be the Rng's draws, drop at the
 * requested rate, be reproducible per seed, and the transposed layout (wasm attention) must equal tf.transpose.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { Rng } from '@tarm/core';
import { describeOnBackends } from '@tarm/test-utils/vitest';
import { dropout, dropoutKeep, dropoutKeepValues } from '../src/dropout.js';

describeOnBackends('dropout masks', ['cpu'], () => {
  it('keeps element 2j (2j + 1) exactly when the low (high) 16 bits of draw j of Rng(seed) are at or above rate * 2^16', () => {
    for (const rate of [0.1, 0.5, 0.9]) {
      for (const size of [20_000, 20_001]) {
        const keep = dropoutKeepValues(size, rate, 1234);
        const rng = new Rng(1234);
        const threshold = Math.round(rate * 2 ** 16);
        let mismatches = 0;
        let dropped = 0;
        let draw = 0;
        for (let i = 0; i < keep.length; i++) {
          if (i % 2 === 0) draw = rng.nextUint32();
          const half = i % 2 === 0 ? draw & 0xffff : draw >>> 16;
          const kept = half >= threshold;
          if (keep[i]! > 0 !== kept) mismatches++;
          if (!kept) dropped++;
          else expect(keep[i]).toBe(Math.fround(1 / (1 - rate)));
        }
        expect(mismatches).toBe(0);
        // binomial(size, rate): 5 standard deviations
        expect(Math.abs(dropped / keep.length - rate)).toBeLessThan(5 * Math.sqrt((rate * (1 - rate)) / keep.length));
      }
    }
  });

  it('keeps everything at rate 0 and drops at the rate rounded to 2^-16', () => {
    expect(Array.from(dropoutKeepValues(1001, 0, 3)).every((v) => v === 1)).toBe(true);
    const rate = 3 / 65536; // exactly representable: P(drop) = rate
    const keep = dropoutKeepValues(400_000, rate, 11);
    const dropped = keep.filter((v) => v === 0).length;
    expect(Math.abs(dropped - rate * keep.length)).toBeLessThan(5 * Math.sqrt(rate * keep.length));
  });

  it('is reproducible per seed and differs between seeds', () => {
    expect(Array.from(dropoutKeepValues(500, 0.3, 7))).toEqual(Array.from(dropoutKeepValues(500, 0.3, 7)));
    expect(Array.from(dropoutKeepValues(500, 0.3, 7))).not.toEqual(Array.from(dropoutKeepValues(500, 0.3, 8)));
  });

  it('writes a permuted layout equal to tf.transpose of the canonical mask', () => {
    const shape = [3, 4, 5];
    for (const perm of [
      [1, 0, 2],
      [2, 0, 1],
      [0, 2, 1],
      [2, 1, 0],
    ] as [number, number, number][]) {
      const canonical = dropoutKeep(shape, 0.4, 99);
      const expected = tf.transpose(canonical, perm);
      const got = dropoutKeep(shape, 0.4, 99, perm);
      expect(got.shape).toEqual(expected.shape);
      expect(Array.from(got.dataSync())).toEqual(Array.from(expected.dataSync()));
      tf.dispose([canonical, expected, got]);
    }
  });

  it('scales kept activations by 1 / (1 - rate), is the identity without a seed, and rejects a bad rate', () => {
    const x = tf.ones([1000]);
    const y = dropout(x, 0.25, 5);
    const values = Array.from(y.dataSync());
    expect(new Set(values.map((v) => v.toFixed(5)))).toEqual(new Set(['0.00000', (1 / 0.75).toFixed(5)]));
    expect(dropout(x, 0.25, undefined)).toBe(x);
    expect(() => dropoutKeep([4], 1, 5)).toThrow(/dropout rate must be in \[0, 1\), got 1/);
    tf.dispose([x, y]);
  });
});
