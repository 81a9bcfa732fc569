import type { Rng } from '@tarm/core';

/** Where dropout masks come from in training mode. Undefined in evaluation mode (no dropout). */
export interface DropoutSource {
  readonly rate: number;
  /** Each dropout site draws the next seed, so the masks are a pure function of this generator's seed. */
  readonly rng: Rng;
}
