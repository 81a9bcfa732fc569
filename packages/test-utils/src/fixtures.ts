import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

/** A tensor in a committed JSON fixture (the PyTorch float64 references of docs/parity.md). */
export interface Enc {
  shape: number[];
  data: number[];
}

/** float32 (tfjs) against float64 (PyTorch): the bound the parity tests ask of every compared quantity. */
export const PARITY_TOL = 1e-5;

/** Parses a JSON fixture next to a test: `readFixture(new URL('./fixtures/x.json', import.meta.url))`. */
export function readFixture<T>(url: URL): T {
  return JSON.parse(readFileSync(url, 'utf8')) as T;
}

export const f32 = (e: Enc): tf.Tensor => tf.tensor(Float32Array.from(e.data), e.shape, 'float32');
export const i32 = (e: Enc): tf.Tensor => tf.tensor(Int32Array.from(e.data), e.shape, 'int32');

/** Max abs difference between a tfjs tensor and a fixture tensor; throws when their shapes differ. NaN gives NaN. */
export function maxAbsDiff(t: tf.Tensor, ref: Enc): number {
  if (t.shape.join(',') !== ref.shape.join(',')) throw new Error(`shape [${t.shape}], fixture [${ref.shape}]`);
  const a = t.dataSync();
  if (a.length !== ref.data.length) throw new Error(`${a.length} values, fixture ${ref.data.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - ref.data[i]!);
    if (!(d <= m)) m = d; // NaN propagates as a failure
  }
  return m;
}
