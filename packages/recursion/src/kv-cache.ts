import * as tf from '@tensorflow/tfjs-core';
import { disposeKvSlot, kvLength, type KvSlot } from '@tarm/layers';
import type { LadderModel } from './model.js';

/**
 * What incremental decoding keeps between calls of `forward(model, ids, { cache })`: one KV slot per block pass
 * (PassInfo.index), each holding the keys and values that pass computed at every position decoded so far,
 * [B*H, length, hs] per slot. Causal attention never changes the states of earlier positions when tokens are
 * appended, and with a cache every pass of the schedule runs for every new token (no early exit), so a new token at
 * pass p attends to exactly the keys/values the full forward pass would compute at pass p. See docs/decisions.md.
 */
export class KvCache {
  /** One slot per pass index; a slot is created on the pass's first call. */
  readonly slots: KvSlot[] = [];
  /** Positions decoded so far: the position of the next token. */
  length = 0;
  /**
   * ar-trm with per-sequence halting: the step (1-based) at which each sequence halted, decided at prefill from
   * position 0 and reused for every later token. [B, 1, 1], on the device (no read needed, webgpu included).
   */
  haltedAt: tf.Tensor3D | undefined;
  /** ar-trm with per-sequence halting: outer steps every append runs (the last halting step of the batch). */
  haltSteps: number | undefined;
  private disposed = false;

  constructor(
    readonly model: LadderModel,
    /** Rows decoded together. */
    readonly batchSize: number,
    /** Outer steps each token runs (the schedule's, or a test-time override on tied rungs). */
    readonly steps: number,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`KvCache: batch size must be an integer >= 1, got ${batchSize}`);
  }

  /** The slot of pass `index`. */
  slot(index: number): KvSlot {
    return (this.slots[index] ??= {});
  }

  /**
   * Throws unless n more tokens of `batch` rows can be appended: the cache is live and consistent (a failed
   * append leaves some slots longer than `length`), the batch matches and the positions fit the context.
   */
  check(batch: number, n: number): void {
    if (this.disposed) throw new Error('KvCache: used after dispose()');
    if (batch !== this.batchSize) throw new RangeError(`KvCache: created for ${this.batchSize} rows, got ids for ${batch}`);
    const ctx = this.model.config.contextLength;
    if (this.length + n > ctx) {
      throw new RangeError(`KvCache: positions ${this.length}..${this.length + n - 1} exceed the context length ${ctx} (${this.length} decoded, ${n} new)`);
    }
    if (this.slots.some((s) => kvLength(s) !== this.length)) {
      throw new Error('KvCache: inconsistent after a failed append (some passes hold more positions than others); start a new cache');
    }
  }

  /** Frees every tensor the cache holds; the cache cannot be used afterwards. Idempotent. */
  dispose(): void {
    for (const s of this.slots) if (s) disposeKvSlot(s);
    this.slots.length = 0;
    this.haltedAt?.dispose();
    this.haltedAt = undefined;
    this.disposed = true;
  }
}

/** A cache for `batchSize` rows of `model`; `steps` overrides the outer steps (tied rungs, as forward's option). */
export function createKvCache(model: LadderModel, batchSize: number, opts: { steps?: number } = {}): KvCache {
  const steps = opts.steps ?? model.schedule.steps;
  if (!model.rung.tied && steps !== model.schedule.steps) throw new RangeError(`dense runs exactly its ${model.schedule.steps} blocks; steps override needs a tied rung`);
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`KvCache: steps must be an integer >= 1, got ${steps}`);
  return new KvCache(model, batchSize, steps);
}
