/** One way of asking Dawn for an adapter: the toggles given to `create()` and the adapter's feature level. */
export interface DawnAttempt {
  readonly flags: readonly string[];
  readonly featureLevel: 'core' | 'compatibility';
}

/**
 * Dawn attempts in Node, in order. The platform default (Vulkan on Linux, Metal on macOS, D3D12 on Windows) at
 * the full feature level first; then Dawn's OpenGL ES backend at the compatibility level, which is what works on a
 * GPU-less Linux through Mesa's llvmpipe (EGL_PLATFORM=surfaceless). `TARM_DAWN_FLAGS` (comma-separated Dawn
 * toggles, e.g. `backend=vulkan`) replaces the list with that one attempt, tried at both levels.
 */
export function dawnAttempts(envFlags: string | undefined): DawnAttempt[] {
  if (envFlags !== undefined && envFlags.trim() !== '') {
    const flags = envFlags
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return [
      { flags, featureLevel: 'core' },
      { flags, featureLevel: 'compatibility' },
    ];
  }
  return [
    { flags: [], featureLevel: 'core' },
    { flags: ['backend=opengles'], featureLevel: 'compatibility' },
  ];
}
