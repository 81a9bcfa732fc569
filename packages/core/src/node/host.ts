import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** The instruction-set extensions that change which kernels libtensorflow (oneDNN) and XNNPACK pick. */
const KERNEL_FLAGS = ['avx2', 'avx512f', 'avx512_bf16', 'amx_tile', 'asimd', 'sve'] as const;

/**
 * The CPU this process runs on, as a session records it: "AMD EPYC (avx2, avx512f)". Runs of one seed agree to
 * the bit only on the same backend, threads *and* CPU kind: oneDNN dispatches its matmul kernels by instruction
 * set, so the same run on another CPU gives other (equally valid) numbers (docs/compute.md). Each run's summary.json
 * and each study session record it.
 */
export function describeCpu(cpuinfo = readCpuinfo()): string {
  const model = cpus()[0]?.model.trim() || 'unknown CPU';
  const flags = new Set((/^(?:flags|Features)\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '').split(/\s+/));
  const present = KERNEL_FLAGS.filter((f) => flags.has(f));
  return present.length ? `${model} (${present.join(', ')})` : model;
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return ''; // not Linux: the model name alone
  }
}
