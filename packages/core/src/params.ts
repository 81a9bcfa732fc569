import * as tf from '@tensorflow/tfjs-core';
import { Rng } from './rng.js';

/**
 * A flat, ordered map from dotted parameter names (`blocks.0.attn.qkv.weight`) to trainable variables.
 * Layers create their parameters through it, the optimiser walks it, checkpoints save it by name.
 */
export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();

  constructor(private readonly rng: Rng) {}

  /** N(0, std) initialised weight (the paper's init uses std 0.02). */
  normal(name: string, shape: number[], std = 0.02): tf.Variable {
    return this.add(
      name,
      tf.tidy(() => tf.randomNormal(shape, 0, std, 'float32', this.rng.seed())),
    );
  }

  zeros(name: string, shape: number[]): tf.Variable {
    return this.add(name, tf.zeros(shape));
  }

  ones(name: string, shape: number[]): tf.Variable {
    return this.add(name, tf.ones(shape));
  }

  constant(name: string, shape: number[], value: number): tf.Variable {
    return this.add(name, tf.fill(shape, value));
  }

  /** Registers an initial value (the store takes ownership of it). */
  add(name: string, init: tf.Tensor): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${name} defined twice`);
    const v = tf.variable(init, true, `${name}_${uniqueSuffix()}`);
    init.dispose();
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter named ${name}`);
    return v;
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  entries(): [string, tf.Variable][] {
    return [...this.vars.entries()];
  }

  /** Total number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /** Copies values by name from `values` (shapes must match). */
  assign(values: Record<string, tf.Tensor>): void {
    for (const [name, v] of this.vars) {
      const src = values[name];
      if (!src) throw new Error(`missing value for parameter ${name}`);
      if (src.shape.join(',') !== v.shape.join(',')) {
        throw new Error(`parameter ${name}: shape [${src.shape}] does not match [${v.shape}]`);
      }
      v.assign(src);
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

let counter = 0;
function uniqueSuffix(): string {
  counter += 1;
  return String(counter);
}
