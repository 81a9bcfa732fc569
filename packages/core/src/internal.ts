/**
 * @tarm/core/internal: helpers the tarm packages, apps, tools and tests share with each other. Not part of the
 * public API; may change in any release. Browser-safe, like the main entry.
 */
export { configDefiner, deepFreeze } from './config.js';
export { resolveBackend, type ResolvedBackend } from './backend.js';
