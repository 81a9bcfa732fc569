import { describe, expect, it } from 'vitest';
import { CheckpointError, decodeSafetensors, encodeSafetensors } from '../src/index.js';

describe('safetensors', () => {
  const tensors = {
    'b.weight': { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-8, -0, 7]) },
    'a.bias': { shape: [1], data: Float32Array.from([-5]) },
    scalar: { shape: [], data: Float32Array.from([0.25]) },
  };

  it('writes the documented layout: u64 LE header length, space-padded JSON header, F32 LE data in name order', () => {
    const bytes = encodeSafetensors(tensors, { format: 'pt', note: 'x' });
    const view = new DataView(bytes.buffer);
    const n = Number(view.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({
      __metadata__: { format: 'pt', note: 'x' },
      'a.bias': { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      'b.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [4, 28] },
      scalar: { dtype: 'F32', shape: [], data_offsets: [28, 32] },
    });
    expect(bytes.length).toBe(8 + n + 32);
    expect(view.getFloat32(8 + n, true)).toBe(-5);
    expect(view.getFloat32(8 + n + 4 + 8, true)).toBe(3.5);
  });

  it('decodes what it encodes, bit for bit', () => {
    const { tensors: back, metadata } = decodeSafetensors(encodeSafetensors(tensors, { k: 'v' }), 'x.safetensors');
    expect(metadata).toEqual({ k: 'v' });
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      expect(back[name]!.shape).toEqual(t.shape);
      expect(Array.from(back[name]!.data)).toEqual(Array.from(t.data));
    }
    expect(Object.is(back['b.weight']!.data[4], -0)).toBe(true);
  });

  it('refuses a values/shape mismatch when writing', () => {
    expect(() => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      /w has shape \[2, 2\] but 3 values/,
    );
  });

  it('names the file and the problem for a broken file', () => {
    const good = encodeSafetensors(tensors);
    expect(() => decodeSafetensors(good.subarray(0, 5), 'f.st')).toThrow(CheckpointError);
    expect(() => decodeSafetensors(good.subarray(0, good.length - 4), 'f.st')).toThrow(
      /cannot load checkpoint f\.st: .*do not hold shape/,
    );
    const extra = new Uint8Array(good.length + 4);
    extra.set(good);
    expect(() => decodeSafetensors(extra, 'f.st')).toThrow(/4 bytes after the last tensor/);
    const f16 = encodeSafetensors({ w: { shape: [1], data: new Float32Array(1) } });
    const text = new TextDecoder().decode(f16).replace('"F32"', '"F16"');
    expect(() => decodeSafetensors(new TextEncoder().encode(text), 'f.st')).toThrow(
      /dtype "F16"; this reader takes F32 only/,
    );
  });
});
