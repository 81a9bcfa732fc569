/** AdamW hyper-parameters of the reference (`ema` 0 or absent: no weight average). */
export interface AdamW64Config {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly ema?: number;
}

/**
 * torch.optim.AdamW (amsgrad off) for one parameter, in float64: the reference @tarm/train's AdamW must follow,
 * written from torch's documented update, independently of it. With `ema` > 0 it also keeps the weight average
 * (starting at the first updated weights, as AdamW's EMA does).
 */
export class AdamW64 {
  m: Float64Array;
  v: Float64Array;
  ema: Float64Array | undefined;
  t = 0;
  constructor(
    public p: Float64Array,
    readonly c: AdamW64Config,
  ) {
    this.m = new Float64Array(p.length);
    this.v = new Float64Array(p.length);
  }

  step(g: ArrayLike<number>): void {
    const { lr, beta1, beta2, eps, weightDecay, ema = 0 } = this.c;
    this.t += 1;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    for (let i = 0; i < this.p.length; i++) {
      this.p[i] = this.p[i]! * (1 - lr * weightDecay);
      this.m[i] = beta1 * this.m[i]! + (1 - beta1) * g[i]!;
      this.v[i] = beta2 * this.v[i]! + (1 - beta2) * g[i]! * g[i]!;
      const denom = Math.sqrt(this.v[i]!) / Math.sqrt(bc2) + eps;
      this.p[i] = this.p[i]! - (lr / bc1) * (this.m[i]! / denom);
    }
    if (ema === 0) return;
    if (!this.ema) this.ema = Float64Array.from(this.p);
    else for (let i = 0; i < this.p.length; i++) this.ema[i] = ema * this.ema[i]! + (1 - ema) * this.p[i]!;
  }
}
