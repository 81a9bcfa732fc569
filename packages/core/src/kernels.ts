import * as tf from '@tensorflow/tfjs-core';

/**
 * Fused kernels: an optional contract between backend adapters and layers. A backend adapter may register a
 * kernel under one of these names for its tfjs backend (in its `setup()`); a layer then calls it instead of a
 * chain of tfjs ops when {@link hasKernel} says it is there, and falls back to the plain ops otherwise. Every
 * fused kernel computes the same function as its fallback, to float32 rounding (the conformance suite checks).
 */
export const FUSED_KERNELS = Object.freeze({
  /** Exact GELU, x Phi(x). Inputs `{ x }` (float32) -> y of x's shape. */
  gelu: 'TarmGelu',
  /** GELU's input gradient, dy (Phi(x) + x phi(x)). Inputs `{ dy, x }` (float32, same shape) -> dx. */
  geluGrad: 'TarmGeluGrad',
  /**
   * LayerNorm's normalisation over the last axis, without gain and bias. Inputs `{ x }` ([M, C], float32), attrs
   * `{ eps }` -> `[xhat, ...saved]`: xhat = (x - mean) / sqrt(var + eps) ([M, C], biased variance), then whatever
   * tensors the backend's {@link FUSED_KERNELS.layerNormGrad} needs (opaque to the caller, passed back unchanged).
   */
  layerNorm: 'TarmLayerNorm',
  /**
   * LayerNorm's input gradient for a gradient g of xhat: rstd (g - mean(g) - xhat mean(g xhat)) over the last axis.
   * Inputs `{ g, x, saved0, saved1, ... }` (g and x [M, C]; savedI the forward's extra outputs, in order), attrs
   * `{ eps }` -> dx ([M, C]).
   */
  layerNormGrad: 'TarmLayerNormGrad',
  /** Column sums of a matrix. Inputs `{ x }` ([M, N], float32) -> [N]. */
  sumRows: 'TarmSumRows',
} as const);

/** Whether the active tfjs backend has a kernel registered under `name`. */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}
