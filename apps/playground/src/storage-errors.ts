/** Turns storage failures into messages a person can act on. Pure: unit-tested without a browser. */

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export interface StorageEstimateLike {
  readonly usage?: number;
  readonly quota?: number;
}

/** Raised before writing when the browser's estimate says the model will not fit. */
export class StorageFullError extends Error {
  override readonly name = 'QuotaExceededError';
}

/** Throws a {@link StorageFullError} when `bytes` more would pass the quota the browser reports. */
export function checkRoom(bytes: number, estimate: StorageEstimateLike | undefined): void {
  if (!estimate || estimate.quota === undefined || estimate.usage === undefined) return;
  const free = estimate.quota - estimate.usage;
  if (bytes > free) throw new StorageFullError(`needs ${formatBytes(bytes)}, ${formatBytes(Math.max(free, 0))} free`);
}

/**
 * One sentence for a failed save or load. Quota errors (QuotaExceededError from IndexedDB, or our own
 * pre-check) say how much was needed and what to do; a missing or blocked IndexedDB says so.
 */
export function describeStorageError(err: unknown, bytes: number, estimate?: StorageEstimateLike): string {
  const e = err as { name?: string; message?: string } | undefined;
  const name = e?.name ?? '';
  const detail = e?.message ? ` (${e.message})` : '';
  if (name === 'QuotaExceededError' || /quota/i.test(e?.message ?? '')) {
    const room =
      estimate?.quota !== undefined && estimate.usage !== undefined
        ? ` This site may store ${formatBytes(estimate.quota)} and uses ${formatBytes(estimate.usage)}.`
        : '';
    return `Browser storage is full: the model needs ${formatBytes(bytes)}.${room} Delete saved models below, or free space in the browser's site settings.`;
  }
  if (
    name === 'InvalidStateError' ||
    name === 'SecurityError' ||
    name === 'UnknownError' ||
    /indexeddb/i.test(e?.message ?? '')
  ) {
    return `This browser does not allow storage here (private window or storage blocked?)${detail}.`;
  }
  return `Storage failed${name ? `: ${name}` : ''}${detail}.`;
}
