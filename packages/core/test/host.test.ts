import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { describeCpu } from '../src/node/host.js';

describe('describeCpu', () => {
  it('names the instruction sets that pick kernels, from /proc/cpuinfo text', () => {
    expect(describeCpu('processor : 0\nflags : fpu sse2 avx avx2 fma avx512f avx512bw\n')).toMatch(
      / \(avx2, avx512f\)$/,
    );
    expect(describeCpu('Features : fp asimd sve\n')).toMatch(/ \(asimd, sve\)$/);
    expect(describeCpu('')).toBe(cpus()[0]?.model.trim() || 'unknown CPU'); // no flags: the model alone (it may hold '(R)' itself)
    expect(describeCpu().length).toBeGreaterThan(0); // this machine
  });
});
