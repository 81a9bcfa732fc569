/**
 * @tarm/train/internal: what the playground shares with this package besides its public API (the name prefix of
 * the optimizer state in a checkpoint). Not part of the public API; may change in any release. Browser-safe, like
 * the main entry; the Node-only internals are in `@tarm/train/node/internal`.
 */
export { OPTIMIZER_PREFIX } from './adamw.js';
