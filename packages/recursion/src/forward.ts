import * as tf from '@tensorflow/tfjs-core';
import { backendCapabilities, Rng, mixSeeds } from '@tarm/core';
import { block, embed, readout, type DropoutSource } from '@tarm/layers';
import { actHalting, binaryHalting, decidedHalting, noHalting, type Halting, type HaltingResult } from './halting.js';
import { detach, offTape } from './tape.js';
import type { Carry, ForwardOptions, ForwardResult, LadderModel, PassInfo } from './types.js';

const DROPOUT_PURPOSE = 3;

/**
 * The one implementation of the ladder (the paper, "The ladder"). The rung's switches select the recursion (stream),
 * the block of each pass (tied), s_k (stepEmbedding) and the halting and readout (halting.ts); any combination
 * (rungs.ts). Shapes: ids [B, T] -> x, h, y, z [B, T, C] -> logits [B, T, V].
 */
export function forward(model: LadderModel, ids: tf.Tensor2D, opts: ForwardOptions): ForwardResult {
  const run = begin(model, ids, opts);
  const { stream } = model.rung;
  const r = stream === 'single' ? singleStream(run) : stream === 'dual' ? dualStream(run) : nested(run);
  recordPrefillHalting(run, r);
  opts.cache?.advance(ids.shape[1]);
  const { ponderCost, passesRun, stepsRun, carry, haltLogits, stepsPerPosition } = r;
  return { logits: readout(model.p.head, r.out), ponderCost, passesRun, stepsRun, carry, haltLogits, stepsPerPosition };
}

/** What a recursion returns: the readout state, what its halting reports, and the work done. */
interface Recursion extends HaltingResult {
  readonly passesRun: number;
  readonly stepsRun: number;
  readonly carry?: Carry;
}

/**
 * Stream 'single' (dense, iterative, iterative-step, ut: the ladder's first four rows): h_k = f(h_{k-1} + s_k) from
 * h = x, with f block k (untied) or the shared block, s_k with a step embedding; halting and readout over the h_k.
 */
function singleStream(run: Run): Recursion {
  const halting = haltingFor(run, 0, run.steps);
  let h = run.x;
  let stepsRun = 0;
  for (let k = 0; k < halting.end; k++) {
    const f = run.stepPasses(k);
    h = f(h, 'h'); // [B, T, C]
    stepsRun = k + 1;
    if (halting.observe(h, k)) break;
  }
  return { ...halting.finish(), stepsRun, passesRun: stepsRun };
}

/** Stream 'dual' (the ladder's dual-ut row): per step k, z = f(x + y + z + s_k); y = f(y + z + s_k); halting and
 *  readout over the y_k (dual-ut: ACT); full backprop. */
function dualStream(run: Run): Recursion {
  const { x } = run;
  const halting = haltingFor(run, 0, run.steps);
  let [y, z] = initialStreams(run);
  let stepsRun = 0;
  for (let k = 0; k < halting.end; k++) {
    const f = run.stepPasses(k);
    z = f(tf.add(tf.add(x, y), z), 'z'); // [B, T, C]
    y = f(tf.add(y, z), 'y'); // [B, T, C]
    stepsRun = k + 1;
    if (halting.observe(y, k)) break;
  }
  return { ...halting.finish(), stepsRun, passesRun: 2 * stepsRun };
}

/**
 * Stream 'nested' (dual-nested-ut, ar-trm, trm-faithful: the ladder's dual-nested-ut and ar-trm rows; "The original
 * TRM" for deep supervision): each step k starts from (y, z) detached and runs H cycles (nestedStep); halting and
 * readout over the y_k (dual-nested-ut: ACT; ar-trm: TRM's binary head, logits from each sequence's terminal y).
 * With a stepRange only steps [k0, k1) run, from the carried (y, z) of the previous deep-supervision segment.
 */
function nested(run: Run): Recursion {
  const { model, opts } = run;
  const [k0, k1] = opts.stepRange ?? [0, run.steps];
  const halting = haltingFor(run, k0, k1);
  let [y, z]: Pair = opts.carry ? [opts.carry.y, opts.carry.z] : initialStreams(run);
  let stepsRun = 0;
  let passesRun = 0;
  for (let k = k0; k < halting.end; k++) {
    const [yIn, zIn] = [detach(y), detach(z)]; // y, z detached at the start of every step (the first one included)
    [y, z] = nestedStep(run, yIn, zIn, k, halting.onTape(k));
    passesRun += model.schedule.passesPerStep;
    stepsRun = k + 1;
    if (halting.observe(y, k, () => nestedStep(run, yIn, zIn, k, true)[0])) break;
  }
  return { ...halting.finish(), stepsRun, passesRun, carry: { y: detach(y), z: detach(z) } };
}

/** The rung's halting for steps [k0, k1) (halting.ts), reading h (single stream) or y. */
function haltingFor(run: Run, k0: number, k1: number): Halting {
  const { rung, p, config } = run.model;
  if (rung.halting === 'act')
    return actHalting(p.act!, run.shape, config.actThreshold, k1, run.earlyExit, rung.readout);
  if (rung.halting === 'binary') return binaryHead(run, k0, k1);
  return noHalting(k1, run.x);
}

/**
 * One nested step k: H cycles of {L times z = f(x + y + z + s_k); then y = f(y + z + s_k)}. With `grad` the last
 * cycle (every cycle with gradCycles 'all') runs on the tape and the first H - 1 off it (the paper: "the first H-1
 * cycles carry no gradient"); without `grad` the whole step runs off the tape.
 */
function nestedStep(run: Run, y0: tf.Tensor3D, z0: tf.Tensor3D, k: number, grad: boolean): Pair {
  const { x, model } = run;
  const { H, L } = model.schedule;
  const f = run.stepPasses(k);
  /** Cycle c; `grad` only labels the passes (the caller decides tape or not). */
  const cycle = ([y, z]: Pair, c: number, grad: boolean): Pair => {
    for (let l = 0; l < L; l++) z = f(tf.add(tf.add(x, y), z), 'z', { cycle: c, grad }); // [B, T, C]
    y = f(tf.add(y, z), 'y', { cycle: c, grad }); // [B, T, C]
    return [y, z];
  };
  const onTapeFrom = !grad ? H : model.config.gradCycles === 'all' ? 0 : H - 1; // first cycle that runs on the tape
  let yz: Pair = [y0, z0];
  if (onTapeFrom > 0) {
    yz = offTapePair(() => {
      let a: Pair = [y0, z0];
      for (let c = 0; c < onTapeFrom; c++) a = cycle(a, c, false);
      return a;
    });
  }
  for (let c = onTapeFrom; c < H; c++) yz = cycle(yz, c, true);
  return yz;
}

/** Binary halting (ar-trm; halting.ts) for steps [k0, k1); with a KV cache after the prefill, its decision reused. */
function binaryHead(run: Run, k0: number, k1: number): Halting {
  const { model, opts } = run;
  const { config, p } = model;
  const cache = opts.cache;
  const perPosition = config.haltLoss;
  const decided = cache?.haltDecision(perPosition);
  if (decided) return decidedHalting(decided, run.shape, k0);
  return binaryHalting({
    head: p.halt!,
    shape: run.shape,
    range: [k0, k1],
    perPosition,
    training: run.training,
    seed: opts.seed,
    exploration: config.haltExploration,
    syncReads: run.syncReads,
    // Per-sequence halting may stop at the batch's last halting step even with a cache: later tokens stop there too.
    earlyExit: cache ? !perPosition && (opts.earlyExit ?? true) && run.syncReads : run.earlyExit,
  });
}

/**
 * Decoding bookkeeping, at a KV-cache prefill with per-sequence binary halting: keeps each sequence's halting step
 * (decided from position 0) in the cache, for the tokens after it (decidedHalting). [B, 1, 1]
 */
function recordPrefillHalting(run: Run, r: Recursion): void {
  const cache = run.opts.cache;
  const { rung, config } = run.model;
  if (!cache || rung.halting !== 'binary' || config.haltLoss || cache.length > 0) return;
  const [B] = run.shape;
  const spp = r.stepsPerPosition!;
  const haltedAt = offTape(() => tf.reshape(tf.slice(spp, [0, 0], [B, 1]), [B, 1, 1])) as tf.Tensor3D;
  cache.recordHalting({ haltedAt, steps: r.stepsRun });
  haltedAt.dispose();
}

type Pair = [tf.Tensor3D, tf.Tensor3D];

/** Runs `f` off tape and returns its (y, z) pair. */
function offTapePair(f: () => Pair): Pair {
  const both = offTape(() => tf.stack(f())); // [2, B, T, C]
  const [y, z] = tf.unstack(both) as tf.Tensor3D[];
  return [y!, z!];
}

/** (y0, z0), the learned initial states broadcast over [B, T, C]. */
function initialStreams(run: Run): Pair {
  const { init } = run.model.p;
  return [tf.add(tf.zeros(run.shape), init!.y) as tf.Tensor3D, tf.add(tf.zeros(run.shape), init!.z) as tf.Tensor3D];
}

/** What the recursions of one forward pass share. */
interface Run {
  readonly model: LadderModel;
  readonly opts: ForwardOptions;
  /** x = embed(ids) at positions offset..offset+T-1 (offset: the cache's length). [B, T, C] */
  readonly x: tf.Tensor3D;
  readonly shape: [number, number, number]; // [B, T, C]
  /** Outer steps: the schedule's, or the test-time override. */
  readonly steps: number;
  readonly training: boolean;
  readonly syncReads: boolean;
  /** Stop once every position halted (later steps cannot change the output): sync reads, no cache. */
  readonly earlyExit: boolean;
  /**
   * f as step k applies it: each call is f(input + s_k), the step's next block pass (PassInfo.index k x passesPerStep
   * + the calls so far; the shared block, or the pass's own when untied). A new stepPasses(k) starts over: a re-run of
   * step k repeats its indices, so its dropout and KV slots. [B, T, C] -> [B, T, C]
   */
  readonly stepPasses: (k: number) => StepPass;
}

/** One pass of a step on `input` (s_k added), updating `stream`; `at`: its cycle and tape label (nested steps). */
type StepPass = (
  input: tf.Tensor,
  stream: PassInfo['stream'],
  at?: { readonly cycle: number; readonly grad: boolean },
) => tf.Tensor3D;

/** Checks the options and builds the shared pieces: f with its dropout, hooks and s_k, x. */
function begin(model: LadderModel, ids: tf.Tensor2D, opts: ForwardOptions): Run {
  const { rung, schedule, p, config } = model;
  const training = opts.training ?? false;
  if (training && opts.seed === undefined) throw new Error('forward: training mode needs a seed');
  const [B, T] = ids.shape;
  const cache = opts.cache;
  if (cache)
    cache.checkUse(model, { training, steps: opts.steps, segment: !!(opts.stepRange || opts.carry), batch: B, n: T });
  const steps = opts.steps ?? cache?.steps ?? schedule.steps;
  if (!rung.tied && steps !== schedule.steps)
    throw new RangeError(
      `${rung.name} runs exactly its ${schedule.steps} ${rung.stream === 'single' ? 'blocks' : 'steps of untied blocks'}; steps override needs a tied rung`,
    );
  const { syncReads } = backendCapabilities(); // webgpu in Node only reads asynchronously
  const C = config.dModel;
  const dropFor = (index: number): DropoutSource | undefined =>
    training && config.dropout > 0
      ? { rate: config.dropout, rng: new Rng(mixSeeds(opts.seed!, DROPOUT_PURPOSE, index)) }
      : undefined;
  // Speed-up (tidy per block pass): without a tape (evaluation, decoding) each pass frees its intermediates at once,
  // so memory holds one pass's activations, not every pass's until the caller's tidy ends (the paper's dense model
  // decoding 100 problems needed ~2.4 GiB).
  const f = (input: tf.Tensor3D, info: PassInfo): tf.Tensor3D => {
    const blk = p.blocks[rung.tied ? 0 : info.index]!;
    const apply = () => {
      const out = block(blk, input, dropFor(info.index), cache?.slot(info.index)); // [B, T, C]
      return (opts.onPass?.(info, out) ?? out) as tf.Tensor3D;
    };
    return training ? apply() : tf.tidy(apply);
  };
  /** s_k as [1, 1, C]. */
  const stepEmb = (k: number): tf.Tensor => {
    const S = p.stepEmbedding!.shape[0]!;
    return tf.reshape(tf.slice(p.stepEmbedding!, [Math.min(k, S - 1), 0], [1, C]), [1, 1, C]);
  };
  /** h + s_k, s_k the step embedding (index clamped to the last trained step when run longer); h without one. */
  const withStep = (h: tf.Tensor, k: number): tf.Tensor3D =>
    (p.stepEmbedding ? tf.add(h, stepEmb(k)) : h) as tf.Tensor3D;
  const stepPasses = (k: number): StepPass => {
    let n = 0; // passes of step k so far
    return (input, stream, at = { cycle: 0, grad: true }) =>
      f(withStep(input, k), {
        index: k * schedule.passesPerStep + n++,
        step: k,
        cycle: at.cycle,
        stream,
        grad: at.grad,
      });
  };
  const x = embed(p.embed, ids, cache?.length ?? 0); // [B, T, C]
  // With a cache every pass runs: the next token's pass p needs the keys/values of pass p at every earlier position.
  const earlyExit = (opts.earlyExit ?? true) && syncReads && !cache;
  return { model, opts, x, shape: [B, T, C], steps, training, syncReads, earlyExit, stepPasses };
}
