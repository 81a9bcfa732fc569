import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '@tarm/core';
import { decode, encode, NEWLINE, NEWLINE_ID, VOCAB_SIZE } from '@tarm/tasks';
import { addDigitStrings } from '@tarm/tasks/internal';

/** The correct answer of an addition prompt `a+b=` (any L). */
export function additionAnswer(prompt: string): string {
  const [a, b] = prompt.slice(0, -1).split('+');
  return addDigitStrings(a!, b!).padStart(a!.length + 1, '0');
}

/**
 * Toy LM that solves a task: the prompt of a row ends at its first '|' or '='; at position t it puts a big
 * logit on character t + 1 of prompt + answerOf(prompt) + newline. `corrupt(i, n, id)` may change the id it
 * favours for answer character i of an answer of length n.
 */
export function solverLM(
  answerOf: (prompt: string) => string,
  corrupt?: (i: number, n: number, id: number) => number,
): CausalLM {
  return {
    logits(ids) {
      const [B, T] = ids.shape;
      const flat = ids.dataSync();
      const out = new Float32Array(B * T * VOCAB_SIZE);
      for (let b = 0; b < B; b++) {
        const text = decode(flat.slice(b * T, (b + 1) * T));
        const P = text.search(/[|=]/) + 1;
        if (P === 0) throw new Error(`no prompt end in ${JSON.stringify(text)}`);
        const answer = answerOf(text.slice(0, P));
        const full = encode(text.slice(0, P) + answer + NEWLINE);
        for (let t = 0; t < T; t++) {
          let id = t + 1 < full.length ? full[t + 1]! : NEWLINE_ID;
          const i = t + 1 - P;
          if (corrupt && i >= 0 && i < answer.length) id = corrupt(i, answer.length, id);
          out[(b * T + t) * VOCAB_SIZE + id] = 10;
        }
      }
      return tf.tensor3d(out, [B, T, VOCAB_SIZE]);
    },
  };
}
