import * as tf from '@tensorflow/tfjs-core';
import {
  backendCapabilities,
  ConfigError,
  type BackendCapabilities,
  type ParamStore,
  type TrainableLM,
} from '@tarm/core';
import { HostArithmetic } from './adamw-host.js';
import { OPTIMIZER_PREFIX, type AdamWState, type Grads, type LoadedSlot } from './adamw-state.js';
import { TensorArithmetic } from './adamw-tensors.js';

export { OPTIMIZER_PREFIX } from './adamw-state.js';

export {
  ADAMW_ARITHMETICS,
  ADAMW_DEFAULTS,
  type AdamWArithmetic,
  type AdamWConfig,
  type ResolvedAdamWConfig,
} from './adamw-config.js';
import {
  ADAMW_ARITHMETICS,
  ADAMW_DEFAULTS,
  type AdamWArithmetic,
  type AdamWConfig,
  type ResolvedAdamWConfig,
} from './adamw-config.js';

/**
 * The arithmetic an optimizer made now uses on the active backend: 'tensors' and 'host' as given; 'auto' is 'host'
 * where the backend can do host-side optimizer arithmetic faster ({@link BackendCapabilities}.hostOptimizer: node,
 * cpu), else 'tensors'.
 *
 * Why: on node every tfjs op is a libtensorflow eager call costing ~10-60 us of dispatch, so the tensor chain
 * (~13 kernels and scalar uploads per parameter, ~690 kernels per step for the 818,432-parameter bench model)
 * costs more than reading the gradients and weights, one float64 loop and writing the weights back (see
 * docs/decisions.md, "AdamW arithmetic on the host (node)", and tools/bench/adamw-ab.mjs). The cpu backend runs
 * its kernels in JavaScript anyway, one allocation per op. On wasm the host path gains nothing measurable (its
 * reads and writes copy out of and into the wasm heap; `apply()` within ~3 ms either way of a ~700 ms step);
 * webgpu and webgl have no (cheap) synchronous reads. Those stay on tensors.
 */
export function resolveArithmetic(
  arithmetic: AdamWArithmetic = 'auto',
  capabilities: BackendCapabilities = backendCapabilities(),
): 'tensors' | 'host' {
  if (arithmetic !== 'auto') return arithmetic;
  return capabilities.hostOptimizer ? 'host' : 'tensors';
}

/** Fills in defaults and checks ranges; a bad value is a ConfigError naming the field. */
export function resolveAdamWConfig(config: AdamWConfig = {}): ResolvedAdamWConfig {
  const c = { ...ADAMW_DEFAULTS, ...stripUndefined(config) };
  const check = (field: keyof ResolvedAdamWConfig, ok: boolean, allowed: string) => {
    if (!ok) throw new ConfigError(`optimizer.${field}`, allowed, c[field]);
  };
  check('lr', Number.isFinite(c.lr) && c.lr >= 0, 'a finite number >= 0');
  check('beta1', c.beta1 >= 0 && c.beta1 < 1, 'a number in [0, 1)');
  check('beta2', c.beta2 >= 0 && c.beta2 < 1, 'a number in [0, 1)');
  check('eps', Number.isFinite(c.eps) && c.eps >= 0, 'a finite number >= 0');
  check('weightDecay', Number.isFinite(c.weightDecay) && c.weightDecay >= 0, 'a finite number >= 0');
  check('ema', c.ema >= 0 && c.ema < 1, 'a number in [0, 1) (0: no weight average)');
  check('arithmetic', ADAMW_ARITHMETICS.includes(c.arithmetic), ADAMW_ARITHMETICS.map((a) => `"${a}"`).join(', '));
  return Object.freeze(c);
}

/**
 * The AdamW settings for training `model`: `config`, with the model's recipe defaults
 * ({@link TrainableLM.optimizerDefaults}, e.g. trm-faithful's EMA) for the fields it leaves unset.
 */
export function optimizerConfigFor(
  model: Pick<TrainableLM, 'optimizerDefaults'>,
  config: AdamWConfig = {},
): AdamWConfig {
  return { ...model.optimizerDefaults, ...stripUndefined(config) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * AdamW with decoupled weight decay, step for step as `torch.optim.AdamW` (amsgrad off, maximize off):
 *
 *     t  += 1
 *     p  *= 1 - lr * weightDecay                      (decoupled decay, before the Adam step)
 *     m   = beta1 * m + (1 - beta1) * g
 *     v   = beta2 * v + (1 - beta2) * g^2
 *     p  -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * Choices, all torch's:
 * - Weight decay applies to EVERY parameter the optimizer is given (biases, norm gains and embeddings included):
 *   torch's AdamW decays all parameters of its parameter groups, and the paper (nanoGPT-style `AdamW(model.parameters())`)
 *   uses a single group.
 * - A parameter that gets no gradient in a step (absent from `grads`) is skipped entirely: no decay, no moment
 *   update, its step count does not advance (torch skips params whose `.grad` is None).
 * - The step count and hence the bias correction are per parameter.
 *
 * The arithmetic ({@link AdamWConfig.arithmetic}) is chosen at construction and keeps its state in its own form:
 * TensorArithmetic (adamw-tensors.ts) or HostArithmetic (adamw-host.ts). This class checks inputs and reads
 * checkpoints; the two agree to float32 rounding.
 */
export class AdamW {
  readonly config: ResolvedAdamWConfig;
  /** The arithmetic in use, resolved from `config.arithmetic` when the optimizer was made. */
  readonly arithmetic: 'tensors' | 'host';
  private readonly params: ReadonlyMap<string, tf.Variable>;
  private readonly impl: AdamWState<unknown>;

  constructor(params: ParamStore | Iterable<[string, tf.Variable]>, config: AdamWConfig = {}) {
    this.config = resolveAdamWConfig(config);
    this.arithmetic = resolveArithmetic(this.config.arithmetic);
    const entries = isParamStore(params) ? params.entries() : [...params];
    this.params = new Map(entries);
    for (const name of this.params.keys()) {
      if (name.startsWith(OPTIMIZER_PREFIX))
        throw new ConfigError('parameter name', `a name not starting with "${OPTIMIZER_PREFIX}"`, name);
    }
    this.impl =
      this.arithmetic === 'host'
        ? new HostArithmetic(this.params, this.config)
        : new TensorArithmetic(this.params, this.config);
  }

  /** Parameter names, in store order. */
  names(): string[] {
    return [...this.params.keys()];
  }

  /** Updates this parameter has received (0 before its first). */
  stepOf(name: string): number {
    return this.impl.stepOf(name);
  }

  /**
   * One optimizer step. `grads` maps parameter names (as in the ParamStore) to gradients of the parameter's
   * shape; parameters without an entry are left untouched. The caller keeps ownership of `grads`.
   */
  apply(grads: Grads): void {
    for (const name of Object.keys(grads)) {
      if (!this.params.has(name)) throw new Error(`AdamW.apply: no parameter named ${name}`);
    }
    // Every shape is checked before anything changes: a bad gradient leaves parameters, moments and steps as they were.
    for (const [name, p] of this.params) {
      const g = grads[name];
      if (g != null && g.shape.join(',') !== p.shape.join(','))
        throw new Error(`AdamW.apply: gradient of ${name} has shape [${g.shape}], parameter [${p.shape}]`);
    }
    this.impl.apply(grads);
  }

  /**
   * Runs `fn` with the EMA weights in the model's variables, then puts the trained weights back (also on error).
   * Without an EMA (or before the first step) it just runs `fn`.
   */
  async withEmaWeights<T>(fn: () => Promise<T>): Promise<T> {
    const names = this.impl.emaNames();
    if (names.length === 0) return fn();
    const saved = new Map(names.map((name) => [name, tf.clone(this.params.get(name)!)]));
    try {
      this.impl.assignEma();
      return await fn();
    } finally {
      for (const [name, t] of saved) {
        this.params.get(name)!.assign(t);
        t.dispose();
      }
    }
  }

  /**
   * A snapshot of the optimizer state as named tensors for a checkpoint: `optimizer.m.<name>`, `optimizer.v.<name>`
   * and the scalar `optimizer.step.<name>` (float32: exact up to 2^24 steps) for every parameter that has state,
   * and `optimizer.ema.<name>` when an EMA is kept. The same in both arithmetics. The tensors are new: the caller
   * disposes them.
   */
  state(): Record<string, tf.Tensor> {
    return this.impl.state();
  }

  /**
   * Replaces the whole optimizer state from checkpoint tensors (keys without the `optimizer.` prefix are ignored,
   * so a checkpoint's full tensor map can be passed). Values are copied: the caller keeps ownership of `tensors`.
   * A state saved in either arithmetic loads into either.
   * Throws when a state tensor names an unknown parameter, has the wrong shape, or lacks its partner.
   */
  async loadState(tensors: Readonly<Record<string, tf.Tensor>>): Promise<void> {
    const found = new Map<string, { m?: tf.Tensor; v?: tf.Tensor; step?: tf.Tensor }>();
    const emas = new Map<string, tf.Tensor>();
    for (const [key, t] of Object.entries(tensors)) {
      if (!key.startsWith(OPTIMIZER_PREFIX)) continue;
      const rest = key.slice(OPTIMIZER_PREFIX.length);
      const dot = rest.indexOf('.');
      const kind = rest.slice(0, dot);
      const name = rest.slice(dot + 1);
      if (dot < 0 || (kind !== 'm' && kind !== 'v' && kind !== 'step' && kind !== 'ema'))
        throw new Error(`optimizer state: unknown entry ${key}`);
      const p = this.params.get(name);
      if (!p) throw new Error(`optimizer state: ${key} names no parameter of this model`);
      const want = kind === 'step' ? '' : p.shape.join(',');
      if (t.shape.join(',') !== want)
        throw new Error(`optimizer state: ${key} has shape [${t.shape}], expected [${want}]`);
      if (kind === 'ema') emas.set(name, t);
      else found.set(name, { ...found.get(name), [kind]: t });
    }
    const slots = new Map<string, LoadedSlot>();
    for (const [name, e] of found) {
      if (!e.m || !e.v || !e.step) throw new Error(`optimizer state for ${name} is incomplete (needs m, v and step)`);
      const step = (await e.step.data())[0]!;
      if (!Number.isInteger(step) || step < 1)
        throw new Error(`optimizer state: step of ${name} is ${step}, expected an integer >= 1`);
      slots.set(name, { m: e.m, v: e.v, step });
    }
    this.impl.load(slots, emas);
  }

  /** Frees the moment tensors and arrays (the parameters belong to their store). */
  dispose(): void {
    this.impl.dispose();
  }
}

function isParamStore(x: unknown): x is ParamStore {
  return typeof (x as ParamStore).entries === 'function' && typeof (x as ParamStore).names === 'function';
}
