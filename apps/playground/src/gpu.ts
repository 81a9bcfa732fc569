/** WebGPU availability, without tfjs: the page asks before offering the webgpu backend. */

/** The parts of WebGPU this file touches (TypeScript's DOM lib has no WebGPU types). */
interface GpuAdapterLike {
  readonly info?: { readonly vendor?: string; readonly architecture?: string; readonly description?: string };
}
export interface GpuLike {
  requestAdapter(): Promise<GpuAdapterLike | null>;
}

export function navigatorGpu(): GpuLike | undefined {
  return (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
}

/**
 * Whether WebGPU can be used here, and if not, why: `navigator.gpu` missing (browser without WebGPU, or not a
 * secure context) or `requestAdapter()` giving null (no usable GPU, e.g. blocklisted driver).
 */
export async function probeWebGpu(): Promise<{ ok: true; description: string } | { ok: false; reason: string }> {
  const gpu = navigatorGpu();
  if (!gpu)
    return {
      ok: false,
      reason:
        'this browser has no WebGPU (navigator.gpu is undefined; it needs a recent Chrome, Edge or Safari over https or localhost)',
    };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { ok: false, reason: 'navigator.gpu.requestAdapter() returned null: no usable GPU adapter' };
    const i = adapter.info;
    return {
      ok: true,
      description: [i?.vendor, i?.architecture, i?.description].filter(Boolean).join(' ') || 'GPU adapter',
    };
  } catch (e) {
    return { ok: false, reason: `requestAdapter() failed: ${String((e as Error)?.message ?? e)}` };
  }
}
