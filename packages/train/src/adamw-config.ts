/** AdamW's hyper-parameters and their defaults (their one declaration; adamw.ts re-exports them). */

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
   * Where the update arithmetic runs, chosen once when the optimizer is made (default 'auto'); the results agree to
   * float32 rounding and a state saved by either loads into the other:
   * - 'tensors': tfjs ops on the active backend (~13 kernels per parameter), moments in tf.Variables;
   * - 'host': one JavaScript loop per parameter in float64 over synchronously read (`dataSync`) gradients and
   *   weights, moments and EMA in Float32Arrays, the new weights written back with one upload per parameter.
   *   Needs synchronous reads (not webgpu);
   * - 'auto': {@link resolveArithmetic}: 'host' where the backend declares the `hostOptimizer` capability (node, cpu),
   *   'tensors' elsewhere (wasm, webgpu, webgl).
   */
  readonly arithmetic?: AdamWArithmetic;
}

/** Where AdamW's arithmetic runs: see {@link AdamWConfig.arithmetic}. */
export type AdamWArithmetic = 'auto' | 'tensors' | 'host';

/** The allowed values of {@link AdamWConfig.arithmetic}. */
export const ADAMW_ARITHMETICS: readonly AdamWArithmetic[] = Object.freeze(['auto', 'tensors', 'host']);

export type ResolvedAdamWConfig = Required<AdamWConfig>;

export const ADAMW_DEFAULTS: ResolvedAdamWConfig = Object.freeze({
  lr: 3e-4,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  ema: 0,
  arithmetic: 'auto',
});
