import * as tf from '@tensorflow/tfjs-core';
import { offTape } from './tape.js';

/**
 * Adaptive Computation Time (Graves 2016), per position. After each step k the caller passes the new state
 * h_k [B, T, C] and its halting probabilities p_k [B, T, 1] = sigmoid(w . h_k + b). A position halts at the
 * first step where its cumulative p would exceed `threshold`, or at the last step (Graves' forced halt, so
 * weights always sum to 1); it then takes the remainder R = 1 - (sum of its earlier p) as its last weight.
 * The output is the ACT-weighted sum sum_k w_k h_k; the ponder cost is mean(N(t) + R(t)).
 * Halting decisions are made off the tape (they are discrete); p and R carry gradient as in Graves.
 */
export class ActAccumulator {
  /** Cumulative halting probability of still-running positions, on tape. [B, T, 1] */
  private cumP: tf.Tensor;
  /** 1 while a position is running, 0 once halted (constant). [B, T, 1] */
  private running: tf.Tensor;
  private remainders: tf.Tensor;
  private updates: tf.Tensor;
  private out: tf.Tensor | undefined;
  /** With `keepTerminal`: each position's state at the step it halted. [B, T, C] */
  private terminal: tf.Tensor | undefined;

  constructor(
    shape: [number, number],
    private readonly threshold: number,
    /** Also keep each position's state at its halting step (readout 'terminal'). */
    private readonly keepTerminal = false,
  ) {
    const [B, T] = shape;
    this.cumP = tf.zeros([B, T, 1]);
    this.running = tf.ones([B, T, 1]);
    this.remainders = tf.zeros([B, T, 1]);
    this.updates = tf.zeros([B, T, 1]);
  }

  /** Folds in step k's state h [B, T, C] with halting probabilities p [B, T, 1]. */
  add(h: tf.Tensor3D, p: tf.Tensor, isLast: boolean): void {
    const running = this.running;
    const cumP = this.cumP;
    const thr = this.threshold;
    // Discrete decisions, off tape: which running positions halt now, which keep going.
    const haltNow = offTape(() =>
      isLast
        ? tf.clone(running)
        : tf.mul(running, tf.cast(tf.greater(tf.add(cumP, tf.mul(p, running)), thr), 'float32')),
    ); // [B, T, 1]
    const stillRunning = offTape(() => tf.sub(running, haltNow)); // [B, T, 1]
    const newCumP = tf.add(cumP, tf.mul(p, stillRunning)); // [B, T, 1]
    const remainder = tf.mul(haltNow, tf.sub(1, newCumP)); // [B, T, 1] (cumP unchanged where halting now)
    const weight = tf.add(tf.mul(p, stillRunning), remainder); // [B, T, 1]
    const term = tf.mul(h, weight); // [B, T, C]
    this.out = this.out ? tf.add(this.out, term) : term;
    if (this.keepTerminal) {
      const halted = tf.mul(h, haltNow); // [B, T, C]
      this.terminal = this.terminal ? tf.add(this.terminal, halted) : halted;
    }
    this.cumP = newCumP;
    this.remainders = tf.add(this.remainders, remainder);
    this.updates = tf.add(this.updates, running);
    this.running = stillRunning;
  }

  /** True once every position has halted (one scalar read; only an optimisation: later steps have weight 0). */
  allHalted(): boolean {
    const anyRunning = tf.max(this.running);
    const v = anyRunning.dataSync()[0]!;
    anyRunning.dispose();
    return v === 0;
  }

  /** The ACT-weighted output [B, T, C]. */
  output(): tf.Tensor3D {
    if (!this.out) throw new Error('ACT output requested before any step');
    return this.out as tf.Tensor3D;
  }

  /** Each position's state at the step it halted [B, T, C] (constructed with `keepTerminal`). */
  terminalOutput(): tf.Tensor3D {
    if (!this.terminal)
      throw new Error(
        this.keepTerminal ? 'ACT output requested before any step' : 'ActAccumulator: constructed without keepTerminal',
      );
    return this.terminal as tf.Tensor3D;
  }

  /** Graves' ponder cost: mean over positions of N(t) + R(t) (scalar, on tape through R). */
  ponderCost(): tf.Scalar {
    return tf.mean(tf.add(this.updates, this.remainders)) as tf.Scalar;
  }

  /** Steps each position ran, N(t), off the tape. [B, T] */
  stepsPerPosition(): tf.Tensor2D {
    const u = this.updates;
    return offTape(() => tf.squeeze(u, [2])) as tf.Tensor2D;
  }

  /** Mean number of steps each position ran (N(t)), as a scalar tensor. */
  meanSteps(): tf.Scalar {
    return tf.mean(this.updates) as tf.Scalar;
  }
}
