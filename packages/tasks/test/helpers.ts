import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM, Rng } from '@tarm/core';
import { decode, encode, NEWLINE, NEWLINE_ID, VOCAB_SIZE } from '../src/index.js';

/** A stand-in Rng whose `int` returns scripted digits, so a task's exact output can be checked. */
export function scriptedRng(digits: string): Rng {
  let i = 0;
  return {
    int(n: number) {
      const d = Number(digits[i++]);
      if (!(d >= 0 && d < n)) throw new Error(`script exhausted or out of range at ${i - 1}`);
      return d;
    },
  } as unknown as Rng;
}

/**
 * Toy LM that knows the answers: at position t of a row whose prompt is known, a big logit sits on character
 * t + 1 of prompt + answer + newline (newline after its end). `corrupt(i, id)` may change answer character i.
 */
export function oracleLM(
  answers: ReadonlyMap<string, string>,
  promptLength: number,
  corrupt?: (i: number, id: number) => number,
): CausalLM & { calls: number[][] } {
  const calls: number[][] = [];
  return {
    calls,
    logits(ids) {
      const [B, T] = ids.shape;
      calls.push([B, T]);
      const flat = ids.dataSync();
      const out = new Float32Array(B * T * VOCAB_SIZE);
      for (let b = 0; b < B; b++) {
        const prompt = decode(flat.slice(b * T, b * T + promptLength));
        const answer = answers.get(prompt);
        if (answer === undefined) throw new Error(`oracle does not know prompt ${JSON.stringify(prompt)}`);
        const full = encode(prompt + answer + NEWLINE);
        for (let t = 0; t < T; t++) {
          const c = t + 1;
          let id = c < full.length ? full[c]! : NEWLINE_ID;
          const i = c - promptLength;
          if (corrupt && i >= 0 && i < answer.length) id = corrupt(i, id);
          out[(b * T + t) * VOCAB_SIZE + id] = 10;
        }
      }
      return tf.tensor3d(out, [B, T, VOCAB_SIZE]);
    },
  };
}

/** Toy LM with the same logits at every position: `row` is a length-14 logit vector. */
export function constantLM(row: readonly number[]): CausalLM {
  return {
    logits(ids) {
      const [B, T] = ids.shape;
      return tf.tidy(() => tf.tile(tf.tensor3d([...row], [1, 1, row.length]), [B, T, 1]) as tf.Tensor3D);
    },
  };
}

/**
 * Adds incremental decoding to a toy LM: the session keeps the ids it was fed and answers an append with `logits`
 * of the whole sequence so far, sliced to the new positions. Records each append's [B, n] and the disposals.
 */
export function withSession(lm: CausalLM): CausalLM & { appends: number[][]; opened: number; disposed: number } {
  const rec = { appends: [] as number[][], opened: 0, disposed: 0 };
  return Object.assign(rec, {
    logits: (ids: tf.Tensor2D) => lm.logits(ids),
    startDecoding(batchSize: number) {
      rec.opened++;
      let seen = tf.keep(tf.zeros([batchSize, 0], 'int32')) as tf.Tensor2D;
      return {
        get length() {
          return seen.shape[1];
        },
        append(ids: tf.Tensor2D) {
          rec.appends.push([...ids.shape]);
          const all = tf.keep(tf.concat([seen, ids], 1)) as tf.Tensor2D;
          seen.dispose();
          seen = all;
          return tf.tidy(
            () => tf.slice(lm.logits(all), [0, all.shape[1] - ids.shape[1], 0], [-1, -1, -1]) as tf.Tensor3D,
          );
        },
        dispose() {
          rec.disposed++;
          seen.dispose();
        },
      };
    },
  });
}
