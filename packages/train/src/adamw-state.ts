import * as tf from '@tensorflow/tfjs-core';
import type { ResolvedAdamWConfig } from './adamw-config.js';

/** Prefix of every optimizer tensor in a checkpoint: `optimizer.m.<param>`, `optimizer.v.<param>`, `optimizer.step.<param>`. */
export const OPTIMIZER_PREFIX = 'optimizer.';

/** Gradients by parameter name, as `AdamW.apply` takes them (shapes already checked). */
export type Grads = Readonly<Record<string, tf.Tensor | null | undefined>>;

/** A parameter's moments and step count as loaded from a checkpoint (checked: shapes match, step an integer >= 1). */
export interface LoadedSlot {
  readonly m: tf.Tensor;
  readonly v: tf.Tensor;
  readonly step: number;
}

/**
 * Per-parameter optimizer state, created on the parameter's first update (as torch does), in the arithmetic's own
 * storage `S` (tf.Variables or Float32Arrays).
 */
interface Slot<S> {
  readonly m: S;
  readonly v: S;
  /** Updates this parameter has received (torch's per-parameter `state['step']`). */
  step: number;
}

/**
 * The state of one AdamW arithmetic, moments and EMA weights by parameter name, and its step. The state stays in
 * the storage `S` of the arithmetic chosen at construction; `toTensor` / `fromTensor` are the only conversions
 * (checkpoints, which are the same in both arithmetics). Subclasses: TensorArithmetic, HostArithmetic.
 */
export abstract class AdamWState<S> {
  protected readonly slots = new Map<string, Slot<S>>();
  /** EMA shadow weights by parameter name (only when config.ema > 0). */
  protected readonly shadows = new Map<string, S>();

  constructor(
    protected readonly params: ReadonlyMap<string, tf.Variable>,
    protected readonly config: ResolvedAdamWConfig,
  ) {}

  /** One optimizer step over every parameter with a gradient (EMA over all of them). */
  abstract apply(grads: Grads): void;
  /** A new tensor holding a copy of `s` with the shape of parameter `name`. */
  protected abstract toTensor(s: S, name: string): tf.Tensor;
  /** The storage for a copy of `t` (which the caller keeps). */
  protected abstract fromTensor(t: tf.Tensor): S;
  protected abstract free(s: S): void;
  /** Writes the EMA weights `s` into parameter `p`. */
  protected abstract assignTo(p: tf.Variable, s: S, name: string): void;

  stepOf(name: string): number {
    return this.slots.get(name)?.step ?? 0;
  }

  /** The parameters that have EMA weights (none without an EMA or before the first step). */
  emaNames(): string[] {
    return [...this.shadows.keys()];
  }

  /** Puts the EMA weights into their parameters. */
  assignEma(): void {
    for (const [name, sh] of this.shadows) this.assignTo(this.params.get(name)!, sh, name);
  }

  /** The state as new checkpoint tensors (the caller disposes them); see AdamW.state. */
  state(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [name, sh] of this.shadows) out[`${OPTIMIZER_PREFIX}ema.${name}`] = this.toTensor(sh, name);
    for (const [name, s] of this.slots) {
      out[`${OPTIMIZER_PREFIX}m.${name}`] = this.toTensor(s.m, name);
      out[`${OPTIMIZER_PREFIX}v.${name}`] = this.toTensor(s.v, name);
      out[`${OPTIMIZER_PREFIX}step.${name}`] = tf.scalar(s.step, 'float32');
    }
    return out;
  }

  /** Replaces the whole state (checked by the caller); the tensors are copied. */
  load(slots: ReadonlyMap<string, LoadedSlot>, emas: ReadonlyMap<string, tf.Tensor>): void {
    this.dispose();
    for (const [name, s] of slots)
      this.slots.set(name, { m: this.fromTensor(s.m), v: this.fromTensor(s.v), step: s.step });
    for (const [name, t] of emas) this.shadows.set(name, this.fromTensor(t));
  }

  dispose(): void {
    for (const s of this.slots.values()) {
      this.free(s.m);
      this.free(s.v);
    }
    for (const sh of this.shadows.values()) this.free(sh);
    this.slots.clear();
    this.shadows.clear();
  }

  /** The slot of `name`, created with zero moments on first use. */
  protected slot(name: string, zeros: () => S): Slot<S> {
    let s = this.slots.get(name);
    if (!s) {
      s = { m: zeros(), v: zeros(), step: 0 };
      this.slots.set(name, s);
    }
    return s;
  }
}
