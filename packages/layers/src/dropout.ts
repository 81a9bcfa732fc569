import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@tarm/core';

/**
 * Inverted dropout with an explicit seed (so runs are reproducible). `rate` 0 or `seed` undefined (evaluation)
 * returns x unchanged. The mask is built from a seeded draw, never from x, so the tape only sees a
 * multiplication by a constant.
 */
export function dropout(x: tf.Tensor, rate: number, seed: number | undefined): tf.Tensor {
  if (rate <= 0 || seed === undefined) return x;
  return tf.mul(x, dropoutKeep(x.shape, rate, seed));
}

/**
 * The inverted-dropout multiplier (0 or 1 / (1 - rate)) for a shape, row-major, as {@link dropoutKeepValues} writes
 * it. The mask is written in JavaScript and uploaded once: no uniform tensor and no compare/cast/divide kernels.
 *
 * `perm` (optional) returns the mask transposed by `perm` (as `tf.transpose(mask, perm)` would, for the wasm
 * attention layout), without a transpose kernel; only permutations of 3-D shapes are supported.
 */
export function dropoutKeep(
  shape: number[],
  rate: number,
  seed: number,
  perm?: readonly [number, number, number],
): tf.Tensor {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${rate}`);
  const size = shape.reduce((a, b) => a * b, 1);
  const keep = dropoutKeepValues(size, rate, seed);
  if (!perm || (perm[0] === 0 && perm[1] === 1 && perm[2] === 2)) return tf.tensor(keep, shape, 'float32');
  if (shape.length !== 3) throw new RangeError(`dropoutKeep: perm needs a 3-D shape, got [${shape}]`);
  const out = new Float32Array(size);
  const strides = [shape[1]! * shape[2]!, shape[2]!, 1];
  const outShape = perm.map((a) => shape[a]!);
  const [s0, s1, s2] = perm.map((a) => strides[a]!) as [number, number, number]; // source stride of each output axis
  let o = 0;
  for (let i = 0; i < outShape[0]!; i++) {
    for (let j = 0; j < outShape[1]!; j++) {
      const base = i * s0 + j * s1;
      for (let k = 0; k < outShape[2]!; k++) out[o++] = keep[base + k * s2]!;
    }
  }
  return tf.tensor(out, outShape, 'float32');
}

/**
 * `size` inverted-dropout multipliers from `new Rng(seed)`: 0 with probability `rate`, else 1 / (1 - rate).
 * Each 32-bit draw of the Rng's sfc32 stream decides two elements: element 2j is kept when the low 16 bits of draw j
 * are >= round(rate * 2^16), element 2j + 1 when its high 16 bits are. So P(drop) is `rate` rounded to a multiple of
 * 2^-16 (0.1 -> 0.1000061), and the stream is drawn half as often: the mask costs ~1.6 ns an element instead of
 * ~2.8 with one draw per element (the sfc32 step is the bound). The draws are the same bits as `rng.nextUint32()`.
 */
export function dropoutKeepValues(size: number, rate: number, seed: number): Float32Array {
  const [a, b, c, d] = new Rng(seed).state();
  return keepFromSfc32(new Float32Array(size), rate, a, b, c, d);
}

/**
 * The sfc32 loop of {@link Rng.nextUint32} in int32 arithmetic (the method's `>>> 0` values leave V8's small-integer
 * range: ~25 ns per draw instead of ~3); plain parameters keep V8 on its fast path. The multipliers are stored as
 * float32 bit patterns through an Int32Array view, selected without a branch.
 */
function keepFromSfc32(out: Float32Array, rate: number, a: number, b: number, c: number, d: number): Float32Array {
  a |= 0;
  b |= 0;
  c |= 0;
  d |= 0;
  const bitsOut = new Int32Array(out.buffer, out.byteOffset, out.length);
  const threshold = Math.round(rate * 65536); // keep when a 16-bit half >= threshold
  const scaleBits = new Int32Array(Float32Array.of(1 / (1 - rate)).buffer)[0]!;
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    // ((half - threshold) >> 31) is -1 (all ones) exactly when half < threshold: drop
    bitsOut[i] = scaleBits & ~(((t & 0xffff) - threshold) >> 31);
    if (i + 1 < n) bitsOut[i + 1] = scaleBits & ~(((t >>> 16) - threshold) >> 31);
  }
  return out;
}
