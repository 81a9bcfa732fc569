import * as tf from '@tensorflow/tfjs-core';
import { backendCapabilities, Rng, mixSeeds } from '@tarm/core';
import { block, embed, readout, type BlockParams, type DropoutSource } from '@tarm/layers';
import { ActAccumulator } from './act.js';
import { detach, offTape } from './tape.js';
import type { KvCache } from './kv-cache.js';
import type { LadderModel } from './model.js';

/** Which application of f a pass is, for hooks (gradient probes, refinement traces). */
export interface PassInfo {
  /** 0-based position of this pass in the forward pass (stable: step x passesPerStep + offset). */
  readonly index: number;
  /** Outer step k (block index for dense, application for tied rungs, ACT / halting step otherwise). */
  readonly step: number;
  /** Cycle within the step (nested rungs), else 0. */
  readonly cycle: number;
  /** Which state the pass updates: the single stream h, the latent z or the answer y. */
  readonly stream: 'h' | 'z' | 'y';
  /** False for passes run off the gradient tape (no-gradient cycles and non-terminal ar-trm steps). */
  readonly grad: boolean;
}

export interface ForwardOptions {
  /** Training mode: dropout on, ar-trm exploration on. Requires `seed`. Default false. */
  readonly training?: boolean;
  /** Drives dropout masks and halting exploration; a step is a pure function of (weights, ids, seed). */
  readonly seed?: number;
  /** Outer steps to run instead of the schedule's (test-time compute); tied rungs only. */
  readonly steps?: number;
  /** Called on every pass's output; may return a replacement (used by gradient-path probes). */
  readonly onPass?: (info: PassInfo, h: tf.Tensor3D) => tf.Tensor3D | void;
  /** Stop once every position (ACT) or sequence (binary head) halted; later steps cannot change the output. */
  readonly earlyExit?: boolean;
  /** Nested rungs: run only steps [from, to) (one deep-supervision segment). Default: every step. */
  readonly stepRange?: readonly [number, number];
  /** Nested rungs: (y, z) to start from, carried (detached) from the previous segment. Default: y0, z0. */
  readonly carry?: Carry;
  /**
   * Incremental decoding (evaluation only; see kv-cache.ts): `ids` [B, n] are the NEW tokens, at positions
   * cache.length..cache.length+n-1. Each pass attends to the keys/values it cached at the earlier positions and
   * appends its new ones; the logits [B, n, V] equal the full forward pass's at those positions. Every pass of the
   * schedule runs (no early exit), except that ar-trm's per-sequence halting, decided at prefill from position 0,
   * is reused: later tokens run the steps up to the batch's last halting step.
   */
  readonly cache?: KvCache;
}

/** The two-stream state carried between deep-supervision segments (always detached). [B, T, C] each. */
export interface Carry {
  readonly y: tf.Tensor3D;
  readonly z: tf.Tensor3D;
}

export interface ForwardResult {
  readonly logits: tf.Tensor3D; // [B, T, V]
  /** ACT rungs: Graves' ponder cost (mean N + R over positions). */
  readonly ponderCost?: tf.Scalar;
  /** Block passes actually applied (early exit can make it smaller than the budget). */
  readonly passesRun: number;
  readonly stepsRun: number;
  /** Nested rungs: the final (y, z), detached, to carry into the next segment. */
  readonly carry?: Carry;
  /** Binary halting with haltLoss: q at each position's terminal y, on the tape. [B, T] */
  readonly haltLogits?: tf.Tensor2D;
  /** Halting rungs: outer steps each position ran before it halted (constant). [B, T] */
  readonly stepsPerPosition?: tf.Tensor2D;
}

const DROPOUT_PURPOSE = 3;
const HALT_PURPOSE = 6;

/**
 * The one implementation of the ladder. The rung's switches (tied, stepEmbedding, halting, dualStream, nested)
 * select the path; shapes: ids [B, T] -> x, h, y, z [B, T, C] -> logits [B, T, V].
 */
export function forward(model: LadderModel, ids: tf.Tensor2D, opts: ForwardOptions): ForwardResult {
  const { rung, schedule, p, config } = model;
  const training = opts.training ?? false;
  if (training && opts.seed === undefined) throw new Error('forward: training mode needs a seed');
  const [B, T] = ids.shape;
  const cache = opts.cache;
  if (cache) checkCache(cache);
  const steps = opts.steps ?? cache?.steps ?? schedule.steps;
  if (!rung.tied && steps !== schedule.steps) throw new RangeError(`dense runs exactly its ${schedule.steps} blocks; steps override needs a tied rung`);
  const { syncReads } = backendCapabilities(); // webgpu in Node only reads asynchronously
  // With a cache every pass runs: the next token's pass p needs the keys/values of pass p at every earlier position.
  const earlyExit = (opts.earlyExit ?? true) && syncReads && !cache;
  const C = config.dModel;
  let passesRun = 0;

  const dropFor = (index: number): DropoutSource | undefined =>
    training && config.dropout > 0 ? { rate: config.dropout, rng: new Rng(mixSeeds(opts.seed!, DROPOUT_PURPOSE, index)) } : undefined;

  /**
   * One application of f to `input` ([B, T, C]); block k for dense, the shared block otherwise. Without a tape
   * (evaluation, decoding) each pass frees its intermediates at once, so memory holds one pass's activations,
   * not every pass's until the caller's tidy ends (the paper's dense model decoding 100 problems needed ~2.4 GiB).
   */
  const pass = (blk: BlockParams, input: tf.Tensor3D, info: PassInfo): tf.Tensor3D => {
    const apply = () => {
      const out = block(blk, input, dropFor(info.index), cache?.slot(info.index)); // [B, T, C]
      return (opts.onPass?.(info, out) ?? out) as tf.Tensor3D;
    };
    return training ? apply() : tf.tidy(apply);
  };
  const shared = p.blocks[0]!;

  /** s_k as [1, 1, C], index clamped to the last trained step when run longer. */
  const stepEmb = (k: number): tf.Tensor => {
    const S = p.stepEmbedding!.shape[0]!;
    return tf.reshape(tf.slice(p.stepEmbedding!, [Math.min(k, S - 1), 0], [1, C]), [1, 1, C]);
  };
  const withStep = (h: tf.Tensor, k: number): tf.Tensor3D => (p.stepEmbedding ? tf.add(h, stepEmb(k)) : h) as tf.Tensor3D;

  /** ACT halting probability per position: sigmoid(h w + b). [B, T, C] -> [B, T, 1] */
  const actProb = (h: tf.Tensor3D): tf.Tensor =>
    tf.sigmoid(tf.add(tf.reshape(tf.matMul(tf.reshape(h, [B * T, C]), p.act!.weight), [B, T, 1]), p.act!.bias));

  const x = embed(p.embed, ids, cache?.length ?? 0); // [B, T, C] at positions offset..offset+T-1
  let hOut: tf.Tensor3D;
  let act: ActAccumulator | undefined;
  let stepsRun = 0;
  let carryOut: Carry | undefined;
  let haltLogitsOut: tf.Tensor2D | undefined;
  let unitSteps: tf.Tensor2D | undefined;

  if (!rung.dualStream) {
    // dense / iterative / iterative-step / ut: one stream h, N applications.
    act = rung.halting === 'act' ? new ActAccumulator([B, T], config.actThreshold) : undefined;
    let h = x;
    for (let k = 0; k < steps; k++) {
      const blk = rung.tied ? shared : p.blocks[k]!;
      h = pass(blk, withStep(h, k), { index: k, step: k, cycle: 0, stream: 'h', grad: true }); // [B, T, C]
      passesRun += 1;
      stepsRun = k + 1;
      if (act) {
        act.add(h, actProb(h), k === steps - 1);
        if (earlyExit && k < steps - 1 && act.allHalted()) break;
      }
    }
    hOut = act ? act.output() : h;
  } else if (!rung.nested) {
    // dual-ut: per ACT step z = f(x + y + z + s_k); y = f(y + z + s_k); ACT on y; full backprop.
    act = new ActAccumulator([B, T], config.actThreshold);
    let y = tf.add(tf.zeros([B, T, C]), p.init!.y) as tf.Tensor3D; // [B, T, C]
    let z = tf.add(tf.zeros([B, T, C]), p.init!.z) as tf.Tensor3D; // [B, T, C]
    for (let k = 0; k < steps; k++) {
      z = pass(shared, withStep(tf.add(tf.add(x, y), z), k), { index: 2 * k, step: k, cycle: 0, stream: 'z', grad: true });
      y = pass(shared, withStep(tf.add(y, z), k), { index: 2 * k + 1, step: k, cycle: 0, stream: 'y', grad: true });
      passesRun += 2;
      stepsRun = k + 1;
      act.add(y, actProb(y), k === steps - 1);
      if (earlyExit && k < steps - 1 && act.allHalted()) break;
    }
    hOut = act.output();
  } else {
    const res = nestedSteps();
    hOut = res;
  }

  if (cache) cache.length += T;
  return { logits: readout(p.head, hOut), ponderCost: act?.ponderCost(), passesRun, stepsRun, carry: carryOut, haltLogits: haltLogitsOut, stepsPerPosition: unitSteps ?? act?.stepsPerPosition() };

  /** dual-nested-ut, ar-trm, trm-faithful: each step = H cycles of {L x z-update, one y-update}. */
  function nestedSteps(): tf.Tensor3D {
    const { H, L, passesPerStep } = schedule;
    const gradAll = config.gradCycles === 'all';
    /** One cycle c of step k; `grad` only labels the passes (the caller decides tape or not). */
    const cycle = (y0: tf.Tensor3D, z0: tf.Tensor3D, k: number, c: number, grad: boolean): [tf.Tensor3D, tf.Tensor3D] => {
      let y = y0;
      let z = z0;
      const base = k * passesPerStep + c * (L + 1);
      for (let l = 0; l < L; l++) {
        z = pass(shared, withStep(tf.add(tf.add(x, y), z), k), { index: base + l, step: k, cycle: c, stream: 'z', grad }); // [B, T, C]
      }
      y = pass(shared, withStep(tf.add(y, z), k), { index: base + L, step: k, cycle: c, stream: 'y', grad }); // [B, T, C]
      return [y, z];
    };
    /** Runs `f` off tape and returns its (y, z) pair. */
    const offTapePair = (f: () => [tf.Tensor3D, tf.Tensor3D]): [tf.Tensor3D, tf.Tensor3D] => {
      const both = offTape(() => tf.stack(f())); // [2, B, T, C]
      const [y, z] = tf.unstack(both) as tf.Tensor3D[];
      return [y!, z!];
    };
    /**
     * One whole step from detached (y, z). With `grad`, the last cycle (every cycle with gradCycles 'all') runs on
     * the tape; the others always run off it. Without `grad` the whole step runs off tape.
     */
    const runStep = (yIn: tf.Tensor3D, zIn: tf.Tensor3D, k: number, grad: boolean): [tf.Tensor3D, tf.Tensor3D] => {
      const onTapeFrom = !grad ? H : gradAll ? 0 : H - 1; // first cycle index that runs on the tape
      let yz: [tf.Tensor3D, tf.Tensor3D] = [yIn, zIn];
      if (onTapeFrom > 0) {
        yz = offTapePair(() => {
          let a: [tf.Tensor3D, tf.Tensor3D] = [yIn, zIn];
          for (let c = 0; c < Math.min(onTapeFrom, H); c++) a = cycle(a[0], a[1], k, c, false);
          return a;
        });
      }
      for (let c = onTapeFrom; c < H; c++) yz = cycle(yz[0], yz[1], k, c, true);
      return yz;
    };

    const k0 = opts.stepRange?.[0] ?? 0;
    const k1 = opts.stepRange?.[1] ?? steps;
    let y = opts.carry ? opts.carry.y : (tf.add(tf.zeros([B, T, C]), p.init!.y) as tf.Tensor3D); // [B, T, C]
    let z = opts.carry ? opts.carry.z : (tf.add(tf.zeros([B, T, C]), p.init!.z) as tf.Tensor3D); // [B, T, C]
    const finish = (out: tf.Tensor3D): tf.Tensor3D => {
      carryOut = { y: detach(y), z: detach(z) };
      return out;
    };

    if (rung.halting === 'act') {
      // dual-nested-ut: ACT over steps; each step's last cycle carries gradient into the ACT readout.
      act = new ActAccumulator([B, T], config.actThreshold);
      for (let k = k0; k < k1; k++) {
        [y, z] = runStep(detach(y), detach(z), k, true);
        passesRun += passesPerStep;
        stepsRun = k + 1;
        act.add(y, actProb(y), k === k1 - 1);
        if (earlyExit && k < k1 - 1 && act.allHalted()) break;
      }
      return finish(act.output());
    }

    // ar-trm: TRM's binary halting head q = y w + b, read at position 0 per sequence (the paper), or at every
    // position when the head is trained (haltLoss): each position then stops at its own step. Logits come from
    // the terminal y of each sequence / position.
    const perPosition = config.haltLoss;
    // Cached decoding, per-sequence halting: position 0 decides, so after the prefill the decision is the cache's.
    const decided = cache && !perPosition && cache.length > 0 ? cache : undefined;
    const kEnd = decided ? k0 + decided.haltSteps! : k1; // later tokens need only the steps up to the last halt
    // Per-sequence halting may stop at the batch's last halting step even with a cache: later tokens stop there too.
    const stopWhenAllHalted = cache ? !perPosition && (opts.earlyExit ?? true) && syncReads : earlyExit;
    const units = perPosition ? B * T : B; // halting units: sequences or positions
    const minSteps = new Int32Array(units); // exploration: a random minimum number of steps (training only)
    if (training && config.haltExploration > 0) {
      const rng = new Rng(mixSeeds(opts.seed!, HALT_PURPOSE, k0));
      for (let b = 0; b < B; b++) {
        const explore = rng.next() < config.haltExploration;
        const draw = k0 + 2 + rng.int(Math.max(k1 - k0 - 1, 1)); // uniform in [2, steps of this range]
        for (let u = 0; u < units / B; u++) minSteps[b * (units / B) + u] = explore ? draw : 0;
      }
    }
    // Halting state lives on the device (webgpu in Node cannot read synchronously); with sync reads one small
    // read per step tells whether any unit halted (re-run on tape) and whether all did (early exit).
    const shape: [number, number, number] = perPosition ? [B, T, 1] : [B, 1, 1];
    const minStepsT = tf.tensor3d(Float32Array.from(minSteps), shape);
    let halted = tf.zeros(shape) as tf.Tensor3D; // 1 once a unit halted
    let haltedAt = tf.zeros(shape) as tf.Tensor3D; // the step (within this range) it halted at
    let yTerminal: tf.Tensor3D | undefined;
    for (let k = k0; k < kEnd; k++) {
      const isLast = k === k1 - 1;
      const [yIn, zIn] = [detach(y), detach(z)];
      // Non-terminal steps can carry no gradient (the next step detaches): run them off tape, and re-run the
      // step on tape (same dropout seeds, same values) only when some unit halts here in training.
      [y, z] = runStep(yIn, zIn, k, isLast && training);
      passesRun += passesPerStep;
      stepsRun = k + 1;
      const yNow = y;
      const before = halted;
      const haltNow = offTape(() => {
        if (decided) return tf.cast(tf.equal(decided.haltedAt!, k + 1 - k0), 'float32'); // [B, 1, 1]
        if (isLast) return tf.sub(1, before);
        const q = tf.reshape(haltLogits(yNow, perPosition), shape); // q = y w + b
        const allowed = tf.logicalAnd(tf.greater(q, 0), tf.lessEqual(minStepsT, k + 1));
        return tf.mul(tf.sub(1, before), tf.cast(allowed, 'float32'));
      }) as tf.Tensor3D; // [B, 1 or T, 1]
      halted = offTape(() => tf.add(before, haltNow)) as tf.Tensor3D;
      const at = haltedAt;
      haltedAt = offTape(() => tf.add(at, tf.mul(haltNow, k + 1 - k0))) as tf.Tensor3D;
      let any = true;
      let all = false;
      if (syncReads && !decided) {
        const flags = tf.tidy(() => tf.stack([tf.max(haltNow), tf.min(halted)]).dataSync());
        any = flags[0]! > 0;
        all = flags[1]! > 0;
      }
      if (any) {
        const yUsed = !isLast && training ? runStep(yIn, zIn, k, true)[0] : y;
        const term = tf.mul(yUsed, haltNow) as tf.Tensor3D; // [B, T, C]
        yTerminal = yTerminal ? (tf.add(yTerminal, term) as tf.Tensor3D) : term;
      }
      if (all && (stopWhenAllHalted || isLast)) break;
    }
    const atFinal = haltedAt;
    if (cache && !perPosition && !decided) {
      cache.haltedAt = tf.keep(tf.clone(atFinal));
      cache.haltSteps = stepsRun - k0;
    }
    unitSteps = offTape(() => (perPosition ? tf.reshape(atFinal, [B, T]) : tf.tile(tf.reshape(atFinal, [B, 1]), [1, T]))) as tf.Tensor2D;
    if (config.haltLoss) {
      // q of each position's terminal y, on the tape: the halting head's training signal (haltLoss).
      haltLogitsOut = tf.add(tf.reshape(tf.matMul(tf.reshape(yTerminal!, [B * T, C]), p.halt!.weight), [B, T]), p.halt!.bias) as tf.Tensor2D;
    }
    return finish(yTerminal!);
  }

  /** A cache can only serve evaluation of the model it was made for, the whole schedule, its own step count. */
  function checkCache(c: KvCache): void {
    if (training) throw new Error('forward: a KV cache is for evaluation only (training mode has dropout and exploration)');
    if (c.model !== model) throw new Error('forward: this KV cache was created for another model');
    if (opts.stepRange || opts.carry) throw new Error('forward: stepRange / carry (deep-supervision segments) cannot be used with a KV cache');
    if (opts.steps !== undefined && opts.steps !== c.steps) throw new RangeError(`forward: the KV cache runs ${c.steps} steps; create it with { steps: ${opts.steps} }`);
    c.check(B, T);
    if (rung.halting === 'binary' && !config.haltLoss && c.length > 0 && !c.haltedAt) throw new Error('forward: the KV cache holds no halting decision');
  }

  /** q = y w + b per sequence (position 0) or per position, for the halting decision. [units, 1] */
  function haltLogits(y: tf.Tensor3D, perPosition: boolean): tf.Tensor {
    const rows = perPosition ? tf.reshape(y, [B * T, C]) : tf.reshape(tf.slice(y, [0, 0, 0], [B, 1, C]), [B, C]);
    return tf.add(tf.matMul(rows, p.halt!.weight), p.halt!.bias);
  }


}
