import * as tf from '@tensorflow/tfjs-core';
import { BackendError, ConfigError } from './errors.js';

/**
 * The contract every backend package (`@tarm/backend-*`) fulfils. Libraries never pick a backend: an app or a
 * test calls {@link useBackend} once, by name or with an adapter object.
 */
export interface BackendAdapter {
  /** The tfjs backend name this adapter registers and selects (`wasm`, `cpu`, `tensorflow`, `webgpu`). */
  readonly tfName: string;
  /** The tarm name users pass to `--backend`. */
  readonly name: string;
  /** Registers the tfjs backend and gradients, selects it and waits until it is ready. Idempotent. */
  setup(options?: BackendOptions): Promise<void>;
  /**
   * Bytes of tensor memory the backend can never exceed, where it has such a limit (wasm: its 32-bit heap,
   * 4 GiB); absent where the machine's memory is the limit. Trainers size micro-batches from it.
   */
  readonly memoryLimitBytes?: number;
  /**
   * What the backend can do, for libraries to ask ({@link backendCapabilities}) instead of its name; fields left
   * out take {@link DEFAULT_CAPABILITIES}. Fused kernels are the other half of the contract: an adapter registers
   * them in `setup()` under the names of `FUSED_KERNELS` and layers ask `hasKernel`.
   */
  readonly capabilities?: Partial<BackendCapabilities>;
}

/**
 * What a backend can do, as far as tarm's libraries care. Every answer only picks between two computations of the
 * same numbers (to float32 rounding): a faster kernel sequence, or whether a synchronous read may be used.
 */
export interface BackendCapabilities {
  /** `dataSync()` works (false: webgpu in Node reads only asynchronously). Halting's early exit needs it. */
  readonly syncReads: boolean;
  /**
   * AdamW's update is faster as one float64 JavaScript loop over synchronously read weights than as ~13 tfjs ops per
   * parameter: per-op dispatch costs more than the reads (libtensorflow eager calls; the JavaScript cpu backend).
   * Implies syncReads. docs/decisions.md, "AdamW arithmetic on the host (node)".
   */
  readonly hostOptimizer: boolean;
  /** matMul's transposeA/B flags run as fast as a plain matMul (false on wasm: they leave XNNPACK's fast path, ~10x slower). */
  readonly matMulTransposeFlags: boolean;
  /**
   * Batched (3-D) matMuls and 5-D transposes are fast (false on wasm: ~2 GFLOP/s batched matmuls and ~20x slower
   * 5-D transposes, so attention runs its core as depthwise convolutions).
   */
  readonly batchedMatMul: boolean;
  /** `tf.sum(t, 0)` over the rows of a matrix is fast (false on wasm: 7-13x slower than `ones @ t` through XNNPACK). */
  readonly sumOverRows: boolean;
}

/** The capabilities of a backend whose adapter declares none (a plain tfjs backend: tensors for everything). */
export const DEFAULT_CAPABILITIES: BackendCapabilities = Object.freeze({
  syncReads: true,
  hostOptimizer: false,
  matMulTransposeFlags: true,
  batchedMatMul: true,
  sumOverRows: true,
});

/** Capabilities by tfjs backend name, recorded by {@link useBackend}. */
const capabilitiesByTfName = new Map<string, BackendCapabilities>();

/**
 * What the active tfjs backend can do: its adapter's declared {@link BackendCapabilities} (recorded when
 * {@link useBackend} set it up), or {@link DEFAULT_CAPABILITIES} for a backend selected some other way.
 */
export function backendCapabilities(): BackendCapabilities {
  return capabilitiesByTfName.get(tf.getBackend()) ?? DEFAULT_CAPABILITIES;
}

export interface BackendOptions {
  /** Worker threads for backends that have them (wasm outside Node); ignored elsewhere. */
  readonly threads?: number;
  /**
   * wasm: where the .wasm binaries are served from (a folder URL, or a map from file name to URL), for bundled
   * browser apps; Node finds them inside the package.
   */
  readonly wasmPaths?: string | Record<string, string>;
}

/** tarm backend name -> the package that provides its adapter. */
export const BACKEND_PACKAGES = Object.freeze({
  wasm: '@tarm/backend-wasm',
  cpu: '@tarm/backend-cpu',
  node: '@tarm/backend-node',
  webgpu: '@tarm/backend-webgpu',
} as const);

export type BackendName = keyof typeof BACKEND_PACKAGES;
export const BACKEND_NAMES = Object.freeze(Object.keys(BACKEND_PACKAGES) as BackendName[]);
export const DEFAULT_BACKEND: BackendName = 'wasm';

/** What `--backend` accepts: a backend, or `auto` for the fastest one that loads here ({@link resolveBackend}). */
export const BACKEND_CHOICES = Object.freeze(['auto', ...BACKEND_NAMES] as const);
export type BackendChoice = 'auto' | BackendName;

/**
 * Loads and activates the backend `choice` names. `auto` picks node (libtensorflow, ~5x wasm) when
 * @tensorflow/tfjs-node is installed and loads, else wasm; `reason` says why, for the user. `load` is
 * {@link useBackend} (a test passes its own to simulate a machine without tfjs-node).
 */
export async function resolveBackend(
  choice: BackendChoice,
  load: (name: BackendName) => Promise<unknown> = useBackend,
): Promise<ResolvedBackend> {
  const loaded = async (name: BackendName, reason: string): Promise<ResolvedBackend> => {
    const adapter = (await load(name)) as Partial<BackendAdapter> | undefined;
    return { name, reason, memoryLimitBytes: adapter?.memoryLimitBytes };
  };
  if (choice !== 'auto') return loaded(choice, 'asked for');
  try {
    return await loaded('node', 'auto: @tensorflow/tfjs-node is installed and loads');
  } catch (e) {
    if (!(e instanceof BackendError)) throw e;
    return loaded('wasm', `auto: ${e.message}`);
  }
}

/** The backend {@link resolveBackend} activated, why, and what it states about itself. */
export interface ResolvedBackend {
  readonly name: BackendName;
  readonly reason: string;
  /** The adapter's {@link BackendAdapter.memoryLimitBytes}. */
  readonly memoryLimitBytes?: number;
}

let gradientsRegistered = false;

/**
 * tfjs-core's Node entry registers no gradients. Loading tfjs-layers' bundle registers all of them on the one
 * tfjs-core engine (platform.md). Called by adapters during setup, never on import.
 */
export async function registerGradients(): Promise<void> {
  if (gradientsRegistered) return;
  await import('@tensorflow/tfjs-layers');
  gradientsRegistered = true;
}

/**
 * Loads a backend adapter package by tarm name (or takes an adapter object), sets it up and makes it the active
 * tfjs backend. A missing package gives a {@link BackendError} that says what to install.
 * In browsers pass the adapter object (`import { adapter } from '@tarm/backend-wasm'`): bundlers cannot follow
 * a package name chosen at run time.
 */
export async function useBackend(
  backend: BackendName | BackendAdapter = DEFAULT_BACKEND,
  options?: BackendOptions,
): Promise<BackendAdapter> {
  let adapter: BackendAdapter;
  if (typeof backend === 'string') {
    if (!(backend in BACKEND_PACKAGES)) throw new ConfigError('backend', BACKEND_NAMES.join(', '), backend);
    const pkg = BACKEND_PACKAGES[backend];
    let mod: { adapter?: BackendAdapter };
    try {
      mod = (await import(/* @vite-ignore */ pkg)) as { adapter?: BackendAdapter };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(pkg)) {
        throw new BackendError(backend, `the package ${pkg} is not installed; run: npm install ${pkg}`);
      }
      throw e;
    }
    if (!mod.adapter) throw new BackendError(backend, `${pkg} does not export an adapter`);
    adapter = mod.adapter;
  } else {
    adapter = backend;
  }
  await adapter.setup(options);
  if (tf.getBackend() !== adapter.tfName)
    throw new BackendError(adapter.name, `tfjs selected "${tf.getBackend()}" instead of "${adapter.tfName}"`);
  capabilitiesByTfName.set(adapter.tfName, Object.freeze({ ...DEFAULT_CAPABILITIES, ...adapter.capabilities }));
  return adapter;
}

/** Shared setup steps for adapters: register gradients, select the tfjs backend, wait for it. */
export async function selectTfBackend(tfName: string): Promise<void> {
  await registerGradients();
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new BackendError(tfName, 'tfjs could not initialise it');
  await tf.ready();
}
