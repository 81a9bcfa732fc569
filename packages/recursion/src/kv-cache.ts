import * as tf from '@tensorflow/tfjs-core';
import type { KvSlot } from '@tarm/layers';
import { disposeKvSlot, kvLength } from '@tarm/layers/internal';
import type { ModelConfig } from './config.js';
import type { Rung } from './rungs.js';
import type { Schedule } from './budget.js';

/** What a cache reads of the model it decodes (a LadderModel), as a structural type: kv-cache.ts imports no file
 *  of the model's (types.ts imports this one). */
export interface CacheOwner {
  readonly config: Pick<ModelConfig, 'contextLength' | 'haltLoss'>;
  readonly rung: Pick<Rung, 'name' | 'tied' | 'stream' | 'halting'>;
  readonly schedule: Pick<Schedule, 'steps'>;
}

/** ar-trm with per-sequence halting: the step (1-based, [B, 1, 1]) each sequence halted at, and the batch's last. */
export interface HaltDecision {
  readonly haltedAt: tf.Tensor3D;
  readonly steps: number;
}

/** What a forward pass asks of the cache it is given (forward's options). */
export interface CacheUse {
  readonly training: boolean;
  readonly steps?: number;
  /** stepRange or carry given (a deep-supervision segment). */
  readonly segment: boolean;
  readonly batch: number;
  /** New tokens. */
  readonly n: number;
}

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
    readonly model: CacheOwner,
    /** Rows decoded together. */
    readonly batchSize: number,
    /** Outer steps each token runs (the schedule's, or a test-time override on tied rungs). */
    readonly steps: number,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError(`KvCache: batch size must be an integer >= 1, got ${batchSize}`);
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
    if (batch !== this.batchSize)
      throw new RangeError(`KvCache: created for ${this.batchSize} rows, got ids for ${batch}`);
    const ctx = this.model.config.contextLength;
    if (this.length + n > ctx) {
      throw new RangeError(
        `KvCache: positions ${this.length}..${this.length + n - 1} exceed the context length ${ctx} (${this.length} decoded, ${n} new)`,
      );
    }
    if (this.slots.some((s) => kvLength(s) !== this.length)) {
      throw new Error(
        'KvCache: inconsistent after a failed append (some passes hold more positions than others); start a new cache',
      );
    }
  }

  /** Throws unless a forward pass of `model` with these options may use the cache: evaluation of the model it was
   *  made for, the whole schedule, its own step count, n more tokens that fit (see `check`). */
  checkUse(model: CacheOwner, use: CacheUse): void {
    if (use.training)
      throw new Error('forward: a KV cache is for evaluation only (training mode has dropout and exploration)');
    if (this.model !== model) throw new Error('forward: this KV cache was created for another model');
    if (use.segment)
      throw new Error('forward: stepRange / carry (deep-supervision segments) cannot be used with a KV cache');
    if (use.steps !== undefined && use.steps !== this.steps)
      throw new RangeError(`forward: the KV cache runs ${this.steps} steps; create it with { steps: ${use.steps} }`);
    this.check(use.batch, use.n);
    if (model.rung.halting === 'binary' && !model.config.haltLoss && this.length > 0 && !this.haltedAt)
      throw new Error('forward: the KV cache holds no halting decision');
  }

  /**
   * Speed-up (reuse of ar-trm's halting decision): with per-sequence halting, position 0 decides, so after the
   * prefill the decision is the cache's and later tokens run only the steps up to the batch's last halting step.
   * Undefined at the prefill and for per-position halting (each new position decides for itself).
   */
  haltDecision(perPosition: boolean): HaltDecision | undefined {
    return !perPosition && this.length > 0 ? { haltedAt: this.haltedAt!, steps: this.haltSteps! } : undefined;
  }

  /** Keeps the prefill's per-sequence halting decision (a copy) for the tokens after it. */
  recordHalting(d: HaltDecision): void {
    this.haltedAt = tf.keep(tf.clone(d.haltedAt));
    this.haltSteps = d.steps;
  }

  /** After a forward pass appended n tokens to every slot. */
  advance(n: number): void {
    this.length += n;
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
export function createKvCache(model: CacheOwner, batchSize: number, opts: { steps?: number } = {}): KvCache {
  const steps = opts.steps ?? model.schedule.steps;
  const { rung } = model;
  if (!rung.tied && steps !== model.schedule.steps) {
    throw new RangeError(
      `${rung.name} runs exactly its ${model.schedule.steps} ${rung.stream === 'single' ? 'blocks' : 'steps of untied blocks'}; steps override needs a tied rung`,
    );
  }
  if (!Number.isInteger(steps) || steps < 1)
    throw new RangeError(`KvCache: steps must be an integer >= 1, got ${steps}`);
  return new KvCache(model, batchSize, steps);
}
