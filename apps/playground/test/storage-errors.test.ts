import { describe, expect, it } from 'vitest';
import { checkRoom, describeStorageError, formatBytes, StorageFullError } from '../src/storage-errors.js';

describe('storage errors', () => {
  it('refuses up front when the estimate leaves no room', () => {
    expect(() => checkRoom(2048, { usage: 1000, quota: 2000 })).toThrow(StorageFullError);
    expect(() => checkRoom(10, { usage: 1000, quota: 2000 })).not.toThrow();
    expect(() => checkRoom(10, undefined)).not.toThrow();
  });

  it('says storage is full, how much was needed and what to do', () => {
    const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    const msg = describeStorageError(quota, 150_000, { usage: 900_000, quota: 1_000_000 });
    expect(msg).toMatch(
      /^Browser storage is full: the model needs 146\.5 KB\. This site may store 976\.6 KB and uses 878\.9 KB\./,
    );
    expect(msg).toContain('Delete saved models');
    expect(describeStorageError(new StorageFullError('x'), 10)).toMatch(/storage is full/);
  });

  it('explains blocked storage and falls back to the error text', () => {
    expect(describeStorageError(new DOMException('no', 'InvalidStateError'), 1)).toMatch(/does not allow storage/);
    expect(describeStorageError(new Error('boom'), 1)).toBe('Storage failed: Error (boom).');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MB');
  });
});
