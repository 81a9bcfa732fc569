import * as tf from '@tensorflow/tfjs-core';
import { Rng, mixSeeds } from '@tarm/core';
import { ActAccumulator } from './act.js';
import { offTape } from './tape.js';
import type { HaltDecision } from './kv-cache.js';
import type { Readout } from './rungs.js';

/**
 * How a recursion decides how many steps each position runs and which state it reads out (the paper, "The ladder":
 * fixed N; ut's ACT; ar-trm's binary head). The recursion calls `observe` with the state after each step k; the
 * halting answers whether later steps can no longer change the output (early exit) and, at the end, gives the state
 * the readout reads.
 */
export interface Halting {
  /** Steps [k0, end) the recursion runs at most. */
  readonly end: number;
  /** Whether step k runs on the gradient tape (binary halting runs non-terminal steps off it). */
  onTape(k: number): boolean;
  /**
   * Folds in the state after step k ([B, T, C]); true when the recursion may stop. `rerunOnTape` re-runs step k on
   * the tape (same inputs, same dropout seeds, same values) for a halting that needs its gradient; a recursion that
   * ran step k on the tape already (single and dual streams) passes none.
   */
  observe(state: tf.Tensor3D, k: number, rerunOnTape?: () => tf.Tensor3D): boolean;
  /** The readout state and what the halting reports. */
  finish(): HaltingResult;
}

export interface HaltingResult {
  /** The state the readout reads. [B, T, C] */
  readonly out: tf.Tensor3D;
  readonly ponderCost?: tf.Scalar;
  /** Outer steps each position ran before it halted (constant). [B, T] */
  readonly stepsPerPosition?: tf.Tensor2D;
  /** Binary halting with haltLoss: q at each position's terminal y, on the tape. [B, T] */
  readonly haltLogits?: tf.Tensor2D;
}

/**
 * No halting (dense, iterative, iterative-step): every step runs; the readout reads the last state (`initial` after
 * none). Only the last step's state is read, so a recursion whose steps start detached (nested) runs the others off
 * the tape; single and dual streams keep every step on it (they do not ask).
 */
export function noHalting(end: number, initial: tf.Tensor3D): Halting {
  let last = initial;
  return {
    end,
    onTape: (k) => k === end - 1,
    observe: (h) => {
      last = h;
      return false;
    },
    finish: () => ({ out: last }),
  };
}

type Head = { readonly weight: tf.Variable; readonly bias: tf.Variable };

/**
 * ACT (the paper's ut row; Graves 2016): p_k = sigmoid(w . h_k + b) per position after step k, threshold, remainder,
 * output = the ACT-weighted sum of the states (act.ts), or with readout 'terminal' each position's state at the step
 * it halted (p then gets gradient only through the ponder cost). Early exit once every position halted (one scalar
 * read).
 */
export function actHalting(
  head: Head,
  shape: [number, number, number],
  threshold: number,
  end: number,
  earlyExit: boolean,
  readout: Readout = 'act-weighted',
): Halting {
  const [B, T, C] = shape;
  const terminal = readout === 'terminal';
  const act = new ActAccumulator([B, T], threshold, terminal);
  /** p = sigmoid(h w + b). [B, T, C] -> [B, T, 1] */
  const prob = (h: tf.Tensor3D): tf.Tensor =>
    tf.sigmoid(tf.add(tf.reshape(tf.matMul(tf.reshape(h, [B * T, C]), head.weight), [B, T, 1]), head.bias));
  return {
    end,
    onTape: () => true,
    observe: (h, k) => {
      act.add(h, prob(h), k === end - 1);
      return earlyExit && k < end - 1 && act.allHalted();
    },
    finish: () => ({
      out: terminal ? act.terminalOutput() : act.output(),
      ponderCost: act.ponderCost(),
      stepsPerPosition: act.stepsPerPosition(),
    }),
  };
}

export interface BinaryHaltingOptions {
  readonly head: Head;
  readonly shape: [number, number, number];
  /** This range's steps [k0, k1) (a deep-supervision segment, or every step). */
  readonly range: readonly [number, number];
  /** Read q at every position (haltLoss: each position stops at its own step) instead of at position 0. */
  readonly perPosition: boolean;
  /** Training: exploration on, and the step a unit halts at is re-run on the tape. Needs `seed`. */
  readonly training: boolean;
  readonly seed?: number;
  /** TRM's exploration: probability of a random minimum number of steps, training only. */
  readonly exploration: number;
  /** One small read per step is possible (not webgpu in Node): skip the re-run when none halted, and exit early. */
  readonly syncReads: boolean;
  /** Stop once every unit halted. */
  readonly earlyExit: boolean;
}

const HALT_PURPOSE = 6;

/**
 * ar-trm's halting (the paper's ar-trm row), in training and evaluation: TRM's head q = w . y[:, 0] + b per sequence
 * (or per position with haltLoss); a unit halts at the first step with q > 0 (and at least its exploration minimum,
 * training only) or at the last step, and the readout takes its terminal y (h on a single stream). Halting state
 * lives on the device. KV-cache decoding after the prefill reuses the prefill's decision instead (decidedHalting).
 *
 * Speed-up (the on-tape re-run; nested stream): the next step detaches (y, z), so a non-terminal step's passes can
 * carry gradient only into the y of a unit that halts there. Those steps run off the tape; when some unit halts at
 * one in training, the step is re-run on the tape (same dropout seeds: same values) for its terminal y. Single and
 * dual streams run every step on the tape and pass no re-run: their state is used as it is.
 */
export function binaryHalting(o: BinaryHaltingOptions): Halting {
  const [B, T, C] = o.shape;
  const [k0, k1] = o.range;
  const { perPosition, training } = o;
  const shape: [number, number, number] = perPosition ? [B, T, 1] : [B, 1, 1];
  const minStepsT = tf.tensor3d(Float32Array.from(explorationMinimum(o)), shape);
  let halted = tf.zeros(shape) as tf.Tensor3D; // 1 once a unit halted
  let haltedAt = tf.zeros(shape) as tf.Tensor3D; // the step (within this range) it halted at
  let yTerminal: tf.Tensor3D | undefined;
  /** q = y w + b per sequence (position 0) or per position. [B or B*T, 1] */
  const q = (y: tf.Tensor3D): tf.Tensor => {
    const rows = perPosition ? tf.reshape(y, [B * T, C]) : tf.reshape(tf.slice(y, [0, 0, 0], [B, 1, C]), [B, C]);
    return tf.add(tf.matMul(rows, o.head.weight), o.head.bias);
  };
  return {
    end: k1,
    onTape: (k) => k === k1 - 1 && training,
    observe(y, k, rerunOnTape) {
      const isLast = k === k1 - 1;
      const before = halted;
      const haltNow = offTape(() => {
        if (isLast) return tf.sub(1, before);
        const allowed = tf.logicalAnd(tf.greater(tf.reshape(q(y), shape), 0), tf.lessEqual(minStepsT, k + 1));
        return tf.mul(tf.sub(1, before), tf.cast(allowed, 'float32'));
      }) as tf.Tensor3D; // [B, 1 or T, 1]
      halted = offTape(() => tf.add(before, haltNow)) as tf.Tensor3D;
      const at = haltedAt;
      haltedAt = offTape(() => tf.add(at, tf.mul(haltNow, k + 1 - k0))) as tf.Tensor3D;
      let any = true;
      let all = false;
      if (o.syncReads) {
        const flags = tf.tidy(() => tf.stack([tf.max(haltNow), tf.min(halted)]).dataSync());
        any = flags[0]! > 0;
        all = flags[1]! > 0;
      }
      if (any) {
        const term = tf.mul(!isLast && training && rerunOnTape ? rerunOnTape() : y, haltNow) as tf.Tensor3D; // [B, T, C]
        yTerminal = yTerminal ? (tf.add(yTerminal, term) as tf.Tensor3D) : term;
      }
      return all && (o.earlyExit || isLast);
    },
    finish() {
      const at = haltedAt;
      const stepsPerPosition = offTape(() =>
        perPosition ? tf.reshape(at, [B, T]) : tf.tile(tf.reshape(at, [B, 1]), [1, T]),
      ) as tf.Tensor2D;
      // q of each position's terminal y, on the tape: the halting head's training signal (haltLoss).
      const haltLogits = perPosition
        ? (tf.add(
            tf.reshape(tf.matMul(tf.reshape(yTerminal!, [B * T, C]), o.head.weight), [B, T]),
            o.head.bias,
          ) as tf.Tensor2D)
        : undefined;
      return { out: yTerminal!, stepsPerPosition, haltLogits };
    },
  };
}

/**
 * Binary halting in KV-cache decoding after the prefill (per-sequence halting only; evaluation): the step each
 * sequence halted at was decided at the prefill from position 0 (kv-cache.ts) and holds for every later token, so no q
 * is computed and nothing is read: the recursion runs the steps up to the batch's last halting step and each sequence
 * reads its y at its own step. [B, 1, 1] decision; states [B, T, C].
 */
export function decidedHalting(decided: HaltDecision, shape: [number, number, number], k0: number): Halting {
  const [B, T] = shape;
  let yTerminal: tf.Tensor3D | undefined;
  return {
    end: k0 + decided.steps,
    onTape: () => false,
    observe(y, k) {
      const haltNow = offTape(() => tf.cast(tf.equal(decided.haltedAt, k + 1 - k0), 'float32')); // [B, 1, 1]
      const term = tf.mul(y, haltNow) as tf.Tensor3D; // [B, T, C]
      yTerminal = yTerminal ? (tf.add(yTerminal, term) as tf.Tensor3D) : term;
      return false;
    },
    finish: () => ({
      out: yTerminal!,
      stepsPerPosition: offTape(() => tf.tile(tf.reshape(decided.haltedAt, [B, 1]), [1, T])) as tf.Tensor2D,
    }),
  };
}

/**
 * TRM's exploration, training only: with probability `exploration` a sequence (all its positions) must run a random
 * minimum number of steps, uniform in [2, steps of this range]; 0 (no minimum) otherwise. One draw pair per sequence.
 */
function explorationMinimum(o: BinaryHaltingOptions): Int32Array {
  const [B, T] = o.shape;
  const [k0, k1] = o.range;
  const perUnit = o.perPosition ? T : 1; // halting units per sequence: its positions, or the sequence
  const minSteps = new Int32Array(B * perUnit);
  if (o.training && o.exploration > 0) {
    const rng = new Rng(mixSeeds(o.seed!, HALT_PURPOSE, k0));
    for (let b = 0; b < B; b++) {
      const explore = rng.next() < o.exploration;
      const draw = k0 + 2 + rng.int(Math.max(k1 - k0 - 1, 1)); // uniform in [2, steps of this range]
      for (let u = 0; u < perUnit; u++) minSteps[b * perUnit + u] = explore ? draw : 0;
    }
  }
  return minSteps;
}
