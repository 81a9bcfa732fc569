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
  /**
   * Where the update arithmetic runs (default 'auto'); the results agree to float32 rounding:
   * - 'tensors': tfjs ops on the active backend (~13 kernels per parameter), moments in tf.Variables;
   * - 'host': one JavaScript loop per parameter in float64 over synchronously read (`dataSync`) gradients and
   *   weights, moments and EMA in Float32Arrays, the new weights written back with one upload per parameter.
   *   Needs synchronous reads (not webgpu);
   * - 'auto': decided at every `apply()` by {@link resolveArithmetic}: 'host' on the node (tf backend
   *   'tensorflow') and cpu backends, 'tensors' elsewhere (wasm, webgpu, webgl).
   * The optimizer state moves between the two forms when the choice changes between steps.
   */
  readonly arithmetic?: AdamWArithmetic;
}

/** Where AdamW's arithmetic runs: see {@link AdamWConfig.arithmetic}. */
export type AdamWArithmetic = 'auto' | 'tensors' | 'host';

/** The allowed values of {@link AdamWConfig.arithmetic}. */
export const ADAMW_ARITHMETICS: readonly AdamWArithmetic[] = Object.freeze(['auto', 'tensors', 'host']);

export type ResolvedAdamWConfig = Required<AdamWConfig>;

export const ADAMW_DEFAULTS: ResolvedAdamWConfig = Object.freeze({ lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, ema: 0, arithmetic: 'auto' });

/**
 * The arithmetic an `apply()` uses on `backend` (default: the active tf backend): 'tensors' and 'host' as given;
 * 'auto' is 'host' on 'tensorflow' (node) and 'cpu', else 'tensors'.
 *
 * Why: on node every tfjs op is a libtensorflow eager call costing ~10-60 us of dispatch, so the tensor chain
 * (~13 kernels and scalar uploads per parameter, ~690 kernels per step for the 818,432-parameter bench model)
 * costs more than reading the gradients and weights, one float64 loop and writing the weights back (see
 * docs/decisions.md, "AdamW arithmetic on the host (node)", and tools/bench/adamw-ab.mjs). The cpu backend runs
 * its kernels in JavaScript anyway, one allocation per op. On wasm the host path gains nothing measurable (its
 * reads and writes copy out of and into the wasm heap; `apply()` within ~3 ms either way of a ~700 ms step);
 * webgpu and webgl have no (cheap) synchronous reads. Those stay on tensors.
 */
export function resolveArithmetic(arithmetic: AdamWArithmetic = 'auto', backend: string = tf.getBackend()): 'tensors' | 'host' {
  if (arithmetic !== 'auto') return arithmetic;
  return backend === 'tensorflow' || backend === 'cpu' ? 'host' : 'tensors';
}

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
  check('arithmetic', ADAMW_ARITHMETICS.includes(c.arithmetic), ADAMW_ARITHMETICS.map((a) => `"${a}"`).join(', '));
  return Object.freeze(c);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Per-parameter optimizer state, created on the parameter's first update (as torch does). The moments are
 * tf.Variables when the arithmetic runs on tensors, Float32Arrays when it runs on the host.
 */
interface SlotState<M> {
  readonly m: M;
  readonly v: M;
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
 * Where the arithmetic runs is `config.arithmetic` ({@link resolveArithmetic}, decided at every `apply()`):
 * - 'tensors': float32 tfjs ops on the active backend, inside `tf.tidy`; parameters and moments are assigned in place;
 * - 'host': per element in float64 JavaScript numbers over `dataSync()` reads of the gradient and the parameter,
 *   moments and EMA stored as Float32Arrays, the parameter written back with one `assign` (default on node and cpu).
 * The two agree to float32 rounding. When the choice changes between two steps, the whole state is moved to the
 * other form first; `state()`, `loadState()`, `withEmaWeights()` and `dispose()` work in either.
 */
export class AdamW {
  private resolved: ResolvedAdamWConfig;
  private readonly params: ReadonlyMap<string, tf.Variable>;
  // The state lives in one form at a time: the tensor maps or the host maps (the others are empty).
  private readonly slots = new Map<string, SlotState<tf.Variable>>();
  private readonly hostSlots = new Map<string, SlotState<Float32Array>>();
  /** EMA shadow weights by parameter name (only when config.ema > 0). */
  private readonly shadows = new Map<string, tf.Variable>();
  private readonly hostShadows = new Map<string, Float32Array>();

  constructor(params: ParamStore | Iterable<[string, tf.Variable]>, config: AdamWConfig = {}) {
    this.resolved = resolveAdamWConfig(config);
    const entries = isParamStore(params) ? params.entries() : [...params];
    this.params = new Map(entries);
    for (const name of this.params.keys()) {
      if (name.startsWith(OPTIMIZER_PREFIX)) throw new ConfigError('parameter name', `a name not starting with "${OPTIMIZER_PREFIX}"`, name);
    }
  }

  /** The resolved, frozen settings. */
  get config(): ResolvedAdamWConfig {
    return this.resolved;
  }

  /**
   * Changes where the arithmetic of the following steps runs (e.g. to compare the two modes on one run); the state
   * moves to the other form at the next `apply()`. Same check as in {@link resolveAdamWConfig}.
   */
  setArithmetic(arithmetic: AdamWArithmetic): void {
    this.resolved = resolveAdamWConfig({ ...this.resolved, arithmetic });
  }

  /** Parameter names, in store order. */
  names(): string[] {
    return [...this.params.keys()];
  }

  /** Updates this parameter has received (0 before its first). */
  stepOf(name: string): number {
    return this.slots.get(name)?.step ?? this.hostSlots.get(name)?.step ?? 0;
  }

  /**
   * One optimizer step. `grads` maps parameter names (as in the ParamStore) to gradients of the parameter's
   * shape; parameters without an entry are left untouched. The caller keeps ownership of `grads`.
   */
  apply(grads: Readonly<Record<string, tf.Tensor | null | undefined>>): void {
    for (const name of Object.keys(grads)) {
      if (!this.params.has(name)) throw new Error(`AdamW.apply: no parameter named ${name}`);
    }
    // Every shape is checked before anything changes: a bad gradient leaves parameters, moments and steps as they were.
    for (const [name, p] of this.params) {
      const g = grads[name];
      if (g != null && g.shape.join(',') !== p.shape.join(',')) throw new Error(`AdamW.apply: gradient of ${name} has shape [${g.shape}], parameter [${p.shape}]`);
    }
    if (resolveArithmetic(this.config.arithmetic) === 'host') {
      this.moveStateToHost();
      this.applyHost(grads);
    } else {
      this.moveStateToTensors();
      this.applyTensors(grads);
    }
  }

  private applyTensors(grads: Readonly<Record<string, tf.Tensor | null | undefined>>): void {
    const { lr, beta1, beta2, eps, weightDecay } = this.config;
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
   * The same step in float64 JavaScript numbers, one loop per parameter (decay, moments, update and EMA in one
   * pass). Never writes into a `dataSync()` result: on the cpu backend it is the tensor's own storage, and so is an
   * array handed to `tf.tensor`, hence a fresh `next` array every step.
   */
  private applyHost(grads: Readonly<Record<string, tf.Tensor | null | undefined>>): void {
    const { lr, beta1, beta2, weightDecay, ema } = this.config;
    const decay = 1 - lr * weightDecay;
    const ce = 1 - ema;
    for (const [name, p] of this.params) {
      const g = grads[name];
      const shadow = ema > 0 ? this.hostShadows.get(name) : undefined;
      if (g == null) {
        // No update, but the weight average still moves towards the (unchanged) weight, as on tensors.
        if (ema > 0) {
          const pv = p.dataSync();
          if (!shadow) this.hostShadows.set(name, Float32Array.from(pv));
          else for (let i = 0; i < shadow.length; i++) shadow[i] = ema * shadow[i]! + ce * pv[i]!;
        }
        continue;
      }
      const slot = this.hostSlot(name, p.size);
      slot.step += 1;
      const t = slot.step;
      const next = new Float32Array(p.size);
      const stepSize = lr / (1 - beta1 ** t);
      // 1 / sqrt(1 - beta2^t) as a factor: one division less per element (float64; the same to float32 rounding).
      const invBc2Sqrt = 1 / Math.sqrt(1 - beta2 ** t);
      hostUpdate(g.dataSync(), p.dataSync(), slot.m, slot.v, next, shadow ?? null, decay, stepSize, invBc2Sqrt, this.config);
      if (ema > 0 && !shadow) this.hostShadows.set(name, next.slice()); // the average starts at the first updated weights
      tf.tidy(() => {
        p.assign(tf.tensor(next, p.shape, 'float32'));
      });
    }
  }

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
    if (this.shadows.size === 0 && this.hostShadows.size === 0) return fn();
    const saved = new Map<string, tf.Tensor>();
    try {
      for (const [name, p] of this.params) {
        const sh = this.shadows.get(name);
        const hostSh = this.hostShadows.get(name);
        if (!sh && !hostSh) continue;
        saved.set(name, tf.clone(p));
        if (sh) p.assign(sh);
        // A copy: the cpu backend keeps the array it is given as the tensor's storage.
        else tf.tidy(() => p.assign(tf.tensor(hostSh!.slice(), p.shape, 'float32')));
      }
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
   * and `optimizer.ema.<name>` when an EMA is kept. The same in both arithmetic modes. The tensors are new (clones
   * share storage until the next update replaces it): the caller disposes them.
   */
  state(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    const shapeOf = (name: string) => this.params.get(name)!.shape;
    const fromHost = (a: Float32Array, name: string) => tf.tensor(a.slice(), shapeOf(name), 'float32'); // a copy: `a` changes in place
    for (const [name, sh] of this.shadows) out[`${OPTIMIZER_PREFIX}ema.${name}`] = tf.clone(sh);
    for (const [name, sh] of this.hostShadows) out[`${OPTIMIZER_PREFIX}ema.${name}`] = fromHost(sh, name);
    for (const [name, s] of this.slots) {
      out[`${OPTIMIZER_PREFIX}m.${name}`] = tf.clone(s.m);
      out[`${OPTIMIZER_PREFIX}v.${name}`] = tf.clone(s.v);
      out[`${OPTIMIZER_PREFIX}step.${name}`] = tf.scalar(s.step, 'float32');
    }
    for (const [name, s] of this.hostSlots) {
      out[`${OPTIMIZER_PREFIX}m.${name}`] = fromHost(s.m, name);
      out[`${OPTIMIZER_PREFIX}v.${name}`] = fromHost(s.v, name);
      out[`${OPTIMIZER_PREFIX}step.${name}`] = tf.scalar(s.step, 'float32');
    }
    return out;
  }

  /**
   * Replaces the whole optimizer state from checkpoint tensors (keys without the `optimizer.` prefix are ignored,
   * so a checkpoint's full tensor map can be passed). Values are copied: the caller keeps ownership of `tensors`.
   * The state is loaded as tensors; in host mode the next `apply()` moves it to the host, like any other change of
   * form (any saved state loads in either mode).
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

  /** Frees the moment tensors and arrays (the parameters belong to their store). */
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
    this.hostSlots.clear();
    this.hostShadows.clear();
  }

  /** Moves tensor state (moments, EMA) into Float32Arrays: synchronous reads, copied, variables disposed. */
  private moveStateToHost(): void {
    if (this.slots.size === 0 && this.shadows.size === 0) return;
    const read = (t: tf.Tensor) => Float32Array.from(t.dataSync());
    for (const [name, s] of this.slots) {
      this.hostSlots.set(name, { m: read(s.m), v: read(s.v), step: s.step });
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
    for (const [name, sh] of this.shadows) {
      this.hostShadows.set(name, read(sh));
      sh.dispose();
    }
    this.shadows.clear();
  }

  /** Moves host state into tf.Variables (each takes the array as its storage where the backend allows). */
  private moveStateToTensors(): void {
    if (this.hostSlots.size === 0 && this.hostShadows.size === 0) return;
    const upload = (a: Float32Array, name: string) => tf.tidy(() => tf.variable(tf.tensor(a, this.params.get(name)!.shape, 'float32'), false));
    for (const [name, s] of this.hostSlots) this.slots.set(name, { m: upload(s.m, name), v: upload(s.v, name), step: s.step });
    this.hostSlots.clear();
    for (const [name, sh] of this.hostShadows) this.shadows.set(name, upload(sh, name));
    this.hostShadows.clear();
  }

  private slot(name: string, p: tf.Variable): SlotState<tf.Variable> {
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

  private hostSlot(name: string, size: number): SlotState<Float32Array> {
    let s = this.hostSlots.get(name);
    if (!s) {
      s = { m: new Float32Array(size), v: new Float32Array(size), step: 0 };
      this.hostSlots.set(name, s);
    }
    return s;
  }
}

/**
 * One host AdamW step of one parameter, in float64 per element: reads `gv` (gradient) and `pv` (weights), updates
 * the moments `m`, `v` in place, writes the new weights to `next` and, with a `shadow`, moves the EMA towards them
 * (shadow = d * shadow + (1 - d) * next, as float32 weights). A plain function over typed arrays, so V8 compiles
 * one tight loop.
 */
function hostUpdate(
  gv: ArrayLike<number>,
  pv: ArrayLike<number>,
  m: Float32Array,
  v: Float32Array,
  next: Float32Array,
  shadow: Float32Array | null,
  decay: number,
  stepSize: number,
  invBc2Sqrt: number,
  c: ResolvedAdamWConfig,
): void {
  const { beta1, beta2, eps, ema } = c;
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  const n = next.length;
  if (shadow === null) {
    for (let i = 0; i < n; i++) {
      const gi = gv[i]!;
      const mi = beta1 * m[i]! + c1 * gi;
      const vi = beta2 * v[i]! + c2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      next[i] = pv[i]! * decay - stepSize * (mi / (Math.sqrt(vi) * invBc2Sqrt + eps));
    }
    return;
  }
  const ce = 1 - ema;
  for (let i = 0; i < n; i++) {
    const gi = gv[i]!;
    const mi = beta1 * m[i]! + c1 * gi;
    const vi = beta2 * v[i]! + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const pn = Math.fround(pv[i]! * decay - stepSize * (mi / (Math.sqrt(vi) * invBc2Sqrt + eps)));
    next[i] = pn;
    shadow[i] = ema * shadow[i]! + ce * pn;
  }
}

function isParamStore(x: unknown): x is ParamStore {
  return typeof (x as ParamStore).entries === 'function' && typeof (x as ParamStore).names === 'function';
}
