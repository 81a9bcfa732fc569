/**
 * @tarm/backend-webgpu: the adapter (`adapter`, for `useBackend`) and the GPU adapter its setup found
 * (`webgpuAdapterInfo`). Everything else here is the adapter's own.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendAdapter } from '@tarm/core';
import { BackendError, selectTfBackend } from '@tarm/core';
import { dawnAttempts, type DawnAttempt } from './dawn-attempts.js';

/** The part of the WebGPU `GPU` object this adapter touches (TypeScript's DOM lib has no WebGPU types). */
interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<GpuAdapterLike | null>;
}
interface GpuAdapterLike {
  readonly info?: { readonly vendor?: string; readonly architecture?: string; readonly description?: string };
  readonly featureLevel?: string;
}

const MESA_HINT =
  'on Linux without a GPU install Mesa EGL/GLES (Debian: apt-get install libegl1 libegl-dev libegl-mesa0 libgles2 libgl1-mesa-dri), ' +
  'or a Vulkan driver for a real GPU';

let chosen: { description: string; attempt?: DawnAttempt } | undefined;

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string' && typeof window === 'undefined';
}

function describe(a: GpuAdapterLike): string {
  const i = a.info;
  return [i?.vendor, i?.architecture, i?.description].filter((s) => s && s.length > 0).join(' ') || 'unnamed adapter';
}

/** Makes `navigator.gpu` exist before tfjs-backend-webgpu is imported (it registers itself only if it does). */
function installNavigatorGpu(gpu: GpuLike): void {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else {
    // Node >= 21 has a global navigator without gpu.
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  }
  if (g.navigator?.gpu !== gpu) throw new BackendError('webgpu', 'could not install navigator.gpu in this runtime');
}

/** Node: load Dawn (the npm package `webgpu`), find a working adapter, expose it as navigator.gpu. */
async function setupDawn(): Promise<void> {
  process.env.EGL_PLATFORM ??= 'surfaceless';
  let dawn: { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
  const spec = 'webgpu';
  try {
    dawn = (await import(/* @vite-ignore */ spec)) as typeof dawn;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(`'webgpu'`)) {
      throw new BackendError('webgpu', 'in Node it needs Dawn, the npm package webgpu; run: npm install webgpu');
    }
    throw new BackendError(
      'webgpu',
      `loading Dawn (the npm package webgpu) failed: ${String(err?.message ?? e).split('\n')[0]}`,
    );
  }
  // GPUBufferUsage, GPUMapMode, GPUShaderStage...: tfjs-backend-webgpu reads them as globals.
  for (const [k, v] of Object.entries(dawn.globals))
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;

  const tried: string[] = [];
  for (const attempt of dawnAttempts(process.env.TARM_DAWN_FLAGS)) {
    const gpu = dawn.create([...attempt.flags]);
    const found = await gpu.requestAdapter({ featureLevel: attempt.featureLevel });
    tried.push(`[${attempt.flags.join(',') || 'default'}] ${attempt.featureLevel}`);
    if (!found) continue;
    // tfjs asks for an adapter itself (with only powerPreference): keep the feature level that worked.
    const wrapped: GpuLike = {
      requestAdapter: (options) => gpu.requestAdapter({ ...options, featureLevel: attempt.featureLevel }),
    };
    installNavigatorGpu(wrapped);
    chosen = { description: describe(found), attempt };
    return;
  }
  throw new BackendError('webgpu', `Dawn found no GPU adapter (tried ${tried.join('; ')}); ${MESA_HINT}`);
}

/** Browser or worker: use the built-in navigator.gpu. */
async function checkBrowserGpu(): Promise<void> {
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) {
    throw new BackendError(
      'webgpu',
      'this browser has no WebGPU (navigator.gpu is undefined): use a recent Chrome, Edge or Safari over https or localhost; ' +
        'headless Chromium needs --enable-unsafe-webgpu',
    );
  }
  const found = await gpu.requestAdapter();
  if (!found)
    throw new BackendError(
      'webgpu',
      'navigator.gpu.requestAdapter() returned null: no usable GPU adapter in this browser',
    );
  chosen = { description: describe(found) };
}

/**
 * WebGPU through tfjs-backend-webgpu. In browsers it uses navigator.gpu. In Node it uses Dawn (the npm package
 * `webgpu`, an optional peer dependency): on a machine without a GPU, Dawn's OpenGL ES backend on Mesa llvmpipe
 * gives correct results slowly; on a real GPU it is the fast backend.
 *
 * Only asynchronous reads work (`await t.data()`, `await t.array()`): `dataSync()` fails in Node.
 */
export const adapter: BackendAdapter = {
  name: 'webgpu',
  tfName: 'webgpu',
  capabilities: { syncReads: false }, // in Node tfjs-backend-webgpu reads only asynchronously
  async setup() {
    if (!chosen) {
      if (isNode()) await setupDawn();
      else await checkBrowserGpu();
    }
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!tf.findBackendFactory('webgpu')) {
      throw new BackendError(
        'webgpu',
        '@tensorflow/tfjs-backend-webgpu was loaded before navigator.gpu existed, so it did not register itself; set up this adapter before importing it',
      );
    }
    try {
      await selectTfBackend('webgpu');
    } catch (e) {
      throw new BackendError(
        'webgpu',
        `tfjs could not initialise WebGPU on ${chosen?.description}: ${String((e as Error)?.message ?? e)}`,
      );
    }
  },
};

/** The adapter setup() found (for logs), or undefined before setup. */
export function webgpuAdapterInfo():
  { description: string; dawnFlags?: readonly string[]; featureLevel?: string } | undefined {
  if (!chosen) return undefined;
  return {
    description: chosen.description,
    dawnFlags: chosen.attempt?.flags,
    featureLevel: chosen.attempt?.featureLevel,
  };
}
