import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, type ParamStore } from '@tarm/core';

/** AdamW hyper-parameters. Every field is optional; the defaults are torch.optim.AdamW's and the paper's. */
export interface AdamWConfig {
  /** Learning rate (default 3e-4). */
  readonly lr?: number;
  /** First-moment decay (default 0.9). */
  readonly beta1?: number;
  /** Second-moment decay (default 0.999). */
  readonly beta2?: number;
  /** Added to the bias-corrected root second moment (default 1e-8). */
  readonly eps?: number;
  /** Decoupled weight decay coefficient (default 0.01). */
  readonly weightDecay?: number;
  /**
   * Decay of an exponential moving average of the weights (TRM uses 0.999), kept beside the optimizer state and
   * swapped in for evaluation by {@link AdamW.withEmaWeights}. 0 (default) keeps no average.
   */
  readonly ema?: number;
}

export type ResolvedAdamWConfig = Required<AdamWConfig>;

export const ADAMW_DEFAULTS: ResolvedAdamWConfig = Object.freeze({ lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, ema: 0 });

/** Prefix of every optimizer tensor in a checkpoint: `optimizer.m.<param>`, `optimizer.v.<param>`, `optimizer.step.<param>`. */
export const OPTIMIZER_PREFIX = 'optimizer.';

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
  return Object.freeze(c);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Per-parameter optimizer state, created on the parameter's first update (as torch does). */
interface SlotState {
  readonly m: tf.Variable;
  readonly v: tf.Variable;
  /** Updates this parameter has received (torch's per-parameter `state['step']`). */
  step: number;
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
 * Arithmetic runs in float32 on the active backend, inside `tf.tidy`; parameters and moments are assigned in place.
 */
export class AdamW {
  readonly config: ResolvedAdamWConfig;
  private readonly params: ReadonlyMap<string, tf.Variable>;
  private readonly slots = new Map<string, SlotState>();
  /** EMA shadow weights by parameter name (only when config.ema > 0). */
  private readonly shadows = new Map<string, tf.Variable>();

  constructor(params: ParamStore | Iterable<[string, tf.Variable]>, config: AdamWConfig = {}) {
    this.config = resolveAdamWConfig(config);
    const entries = isParamStore(params) ? params.entries() : [...params];
    this.params = new Map(entries);
    for (const name of this.params.keys()) {
      if (name.startsWith(OPTIMIZER_PREFIX)) throw new ConfigError('parameter name', `a name not starting with "${OPTIMIZER_PREFIX}"`, name);
    }
  }

  /** Parameter names, in store order. */
  names(): string[] {
    return [...this.params.keys()];
  }

  /** Updates this parameter has received (0 before its first). */
  stepOf(name: string): number {
    return this.slots.get(name)?.step ?? 0;
  }

  /**
   * One optimizer step. `grads` maps parameter names (as in the ParamStore) to gradients of the parameter's
   * shape; parameters without an entry are left untouched. The caller keeps ownership of `grads`.
   */
  apply(grads: Readonly<Record<string, tf.Tensor | null | undefined>>): void {
    const { lr, beta1, beta2, eps, weightDecay } = this.config;
    for (const name of Object.keys(grads)) {
      if (!this.params.has(name)) throw new Error(`AdamW.apply: no parameter named ${name}`);
    }
    // Every shape is checked before anything changes: a bad gradient leaves parameters, moments and steps as they were.
    for (const [name, p] of this.params) {
      const g = grads[name];
      if (g != null && g.shape.join(',') !== p.shape.join(',')) throw new Error(`AdamW.apply: gradient of ${name} has shape [${g.shape}], parameter [${p.shape}]`);
    }
    for (const [name, p] of this.params) {
      const g = grads[name];
      if (g == null) continue;
      const slot = this.slot(name, p);
      slot.step += 1;
      const t = slot.step;
      // Scalars computed in float64 in JS, then used as float32 constants (torch computes them in Python floats too).
      const decay = 1 - lr * weightDecay;
      const stepSize = lr / (1 - beta1 ** t);
      const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
      tf.tidy(() => {
        const m = tf.add(tf.mul(slot.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(slot.v, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps);
        const decayed = weightDecay === 0 ? p : tf.mul(p, decay);
        const next = tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize));
        slot.m.assign(m);
        slot.v.assign(v);
        p.assign(next);
      });
    }
    this.updateEma();
  }

  /**
   * A snapshot of the optimizer state as named tensors for a checkpoint: `optimizer.m.<name>`, `optimizer.v.<name>`
   * and the scalar `optimizer.step.<name>` (float32: exact up to 2^24 steps) for every parameter that has state.
   * The tensors are new (clones share storage until the next update replaces it): the caller disposes them.
   */
  /** shadow = d * shadow + (1 - d) * weight for every parameter (the shadow starts at the first weights). */
  private updateEma(): void {
    const d = this.config.ema;
    if (d === 0) return;
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const sh = this.shadows.get(name);
        if (!sh) this.shadows.set(name, tf.variable(p, false));
        else sh.assign(tf.add(tf.mul(sh, d), tf.mul(p, 1 - d)));
      }
    });
  }

  /**
   * Runs `fn` with the EMA weights in the model's variables, then puts the trained weights back (also on error).
   * Without an EMA (or before the first step) it just runs `fn`.
   */
  async withEmaWeights<T>(fn: () => Promise<T>): Promise<T> {
    if (this.shadows.size === 0) return fn();
    const saved = new Map<string, tf.Tensor>();
    for (const [name, p] of this.params) {
      const sh = this.shadows.get(name);
      if (!sh) continue;
      saved.set(name, tf.clone(p));
      p.assign(sh);
    }
    try {
      return await fn();
    } finally {
      for (const [name, t] of saved) {
        this.params.get(name)!.assign(t);
        t.dispose();
      }
    }
  }

  state(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [name, sh] of this.shadows) out[`${OPTIMIZER_PREFIX}ema.${name}`] = tf.clone(sh);
    for (const [name, s] of this.slots) {
      out[`${OPTIMIZER_PREFIX}m.${name}`] = tf.clone(s.m);
      out[`${OPTIMIZER_PREFIX}v.${name}`] = tf.clone(s.v);
      out[`${OPTIMIZER_PREFIX}step.${name}`] = tf.scalar(s.step, 'float32');
    }
    return out;
  }

  /**
   * Replaces the whole optimizer state from checkpoint tensors (keys without the `optimizer.` prefix are ignored,
   * so a checkpoint's full tensor map can be passed). Values are copied: the caller keeps ownership of `tensors`.
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
      if (dot < 0 || (kind !== 'm' && kind !== 'v' && kind !== 'step' && kind !== 'ema')) throw new Error(`optimizer state: unknown entry ${key}`);
      const p = this.params.get(name);
      if (!p) throw new Error(`optimizer state: ${key} names no parameter of this model`);
      if (kind === 'ema') {
        if (t.shape.join(',') !== p.shape.join(',')) throw new Error(`optimizer state: ${key} has shape [${t.shape}], expected [${p.shape}]`);
        emas.set(name, t);
        continue;
      }
      const want = kind === 'step' ? '' : p.shape.join(',');
      if (t.shape.join(',') !== want) throw new Error(`optimizer state: ${key} has shape [${t.shape}], expected [${want}]`);
      const e = found.get(name) ?? {};
      e[kind] = t;
      found.set(name, e);
    }
    const steps = new Map<string, number>();
    for (const [name, e] of found) {
      if (!e.m || !e.v || !e.step) throw new Error(`optimizer state for ${name} is incomplete (needs m, v and step)`);
      const step = (await e.step.data())[0]!;
      if (!Number.isInteger(step) || step < 1) throw new Error(`optimizer state: step of ${name} is ${step}, expected an integer >= 1`);
      steps.set(name, step);
    }
    this.disposeState();
    for (const [name, e] of found) {
      // A variable shares the loaded tensor's storage (reference counted): the caller may dispose its tensors.
      const m = tf.variable(e.m!, false);
      const v = tf.variable(e.v!, false);
      this.slots.set(name, { m, v, step: steps.get(name)! });
    }
    for (const [name, t] of emas) this.shadows.set(name, tf.variable(t, false));
  }

  /** Frees the moment tensors (the parameters belong to their store). */
  dispose(): void {
    this.disposeState();
  }

  private disposeState(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
    for (const sh of this.shadows.values()) sh.dispose();
    this.shadows.clear();
  }

  private slot(name: string, p: tf.Variable): SlotState {
    let s = this.slots.get(name);
    if (!s) {
      s = {
        m: tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
        v: tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
        step: 0,
      };
      this.slots.set(name, s);
    }
    return s;
  }
}

function isParamStore(x: unknown): x is ParamStore {
  return typeof (x as ParamStore).entries === 'function' && typeof (x as ParamStore).names === 'function';
}
