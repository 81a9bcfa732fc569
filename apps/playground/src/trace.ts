/**
 * Greedy decoding with a refinement trace: for every new token, one forward pass of the model over the prefix,
 * and for every y (or h) pass inside it, the character the readout head would pick at the position being
 * generated. Runs wherever tfjs runs (the worker; Node in the unit tests).
 */
import * as tf from '@tensorflow/tfjs-core';
import { readout } from '@tarm/layers';
import type { LadderModel } from '@tarm/recursion';
import { decode, encode, NEWLINE_ID } from '@tarm/tasks';
import type { PassReadout, PositionTrace } from './protocol.js';

/** Traces the forward pass that predicts the token after `ids`. */
export async function traceNextToken(
  model: LadderModel,
  ids: readonly number[],
  position: number,
): Promise<{ id: number; trace: PositionTrace }> {
  const t = ids.length;
  const kept: { step: number; cycle: number; passIndex: number; id: tf.Tensor }[] = [];
  let passesRun = 0;
  let stepsRun = 0;
  const lastArgMax = (x: tf.Tensor3D): tf.Tensor => tf.argMax(tf.reshape(tf.slice(x, [0, t - 1, 0], [1, 1, -1]), [-1])); // [1]
  let out: { next: tf.Tensor; halt?: tf.Tensor };
  try {
    out = tf.tidy(() => {
      const x = tf.tensor2d([...ids], [1, t], 'int32'); // [1, t]
      const res = model.forward(x, {
        onPass(info, h) {
          if (info.stream === 'z') return;
          // LayerNorm and the readout act per position: read out the last position only. [1, 1, C] -> [1, 1, V]
          const logits = readout(model.p.head, tf.slice(h, [0, t - 1, 0], [1, 1, -1]) as tf.Tensor3D);
          kept.push({
            step: info.step,
            cycle: info.cycle,
            passIndex: info.index,
            id: tf.keep(tf.argMax(tf.reshape(logits, [-1]))),
          });
        },
      });
      passesRun = res.passesRun;
      stepsRun = res.stepsRun;
      const next = lastArgMax(res.logits);
      // Halting rungs: the steps the position being generated ran before it halted. [B, T] -> [1]
      return res.stepsPerPosition ? { next, halt: tf.slice(res.stepsPerPosition, [0, t - 1], [1, 1]) } : { next };
    });
  } catch (e) {
    for (const k of kept) k.id.dispose();
    throw e;
  }
  try {
    // Async reads only: webgpu cannot read synchronously.
    const [nextId, halt, ...passIds] = await Promise.all([
      out.next.data(),
      out.halt?.data(),
      ...kept.map((k) => k.id.data()),
    ]);
    const id = nextId![0]!;
    const readouts: PassReadout[] = kept.map((k, i) => ({
      passIndex: k.passIndex,
      step: k.step,
      cycle: k.cycle,
      char: decode([passIds[i]![0]!]),
    }));
    const trace: PositionTrace = {
      position,
      char: decode([id]),
      readouts,
      stepsRun,
      passesRun,
      ...(halt ? { haltStep: halt[0]! } : {}),
    };
    return { id, trace };
  } finally {
    out.next.dispose();
    out.halt?.dispose();
    for (const k of kept) k.id.dispose();
  }
}

/**
 * Decodes greedily from `prompt` for at most `maxTokens` tokens, stopping after the newline, and calls `onToken`
 * with each position's trace as soon as it is known. Returns the answer (without the newline).
 */
export async function decodeWithTrace(
  model: LadderModel,
  prompt: string,
  maxTokens: number,
  onToken: (trace: PositionTrace) => void | Promise<void>,
): Promise<string> {
  const ids = encode(prompt);
  let answer = '';
  for (let i = 0; i < maxTokens; i++) {
    const { id, trace } = await traceNextToken(model, ids, i);
    await onToken(trace);
    if (id === NEWLINE_ID) break;
    answer += trace.char;
    ids.push(id);
  }
  return answer;
}
