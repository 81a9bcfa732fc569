import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { BackendError, type BackendName } from '../src/index.js';
import { resolveBackend } from '../src/internal.js';

/** A loader that records what it was asked to load; `missing` backends fail the way an absent package does. */
function loader(missing: readonly BackendName[] = [], other?: Error) {
  const loaded: BackendName[] = [];
  const load = async (name: BackendName) => {
    if (other && name === 'node') throw other;
    if (missing.includes(name)) throw new BackendError(name, `the package @tensorflow/tfjs-${name} is not installed`);
    loaded.push(name);
  };
  return { load, loaded };
}

const tfjsNodeBuilt = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node/package.json');
    return true;
  } catch {
    return false;
  }
})();

describe('--backend auto', () => {
  it('picks node when it loads', async () => {
    const l = loader();
    expect(await resolveBackend('auto', l.load)).toEqual({
      name: 'node',
      reason: 'auto: @tensorflow/tfjs-node is installed and loads',
    });
    expect(l.loaded).toEqual(['node']);
  });

  it('falls back to wasm where node cannot load, and says why', async () => {
    const l = loader(['node']);
    const r = await resolveBackend('auto', l.load);
    expect(r.name).toBe('wasm');
    expect(r.reason).toMatch(
      /^auto: backend "node" is not available: the package @tensorflow\/tfjs-node is not installed/,
    );
    expect(l.loaded).toEqual(['wasm']);
  });

  it('a named backend is loaded as asked; an unexpected failure is not hidden by the fallback', async () => {
    const l = loader();
    expect(await resolveBackend('cpu', l.load)).toEqual({ name: 'cpu', reason: 'asked for' });
    expect(l.loaded).toEqual(['cpu']);
    await expect(resolveBackend('auto', loader([], new TypeError('a bug')).load)).rejects.toThrow(TypeError);
  });

  it.runIf(tfjsNodeBuilt)('on this machine (tfjs-node installed): node, through the real adapters', async () => {
    expect((await resolveBackend('auto')).name).toBe('node');
  });
});
