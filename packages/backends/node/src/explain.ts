/** The npm packages that provide the native `tensorflow` tfjs backend, in the order they are preferred. */
export const NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
export type NodePackage = (typeof NODE_PACKAGES)[number];

export const SETUP_HINT =
  'run `npx tarm-setup-node` (builds against a local TensorFlow wheel) or reinstall @tensorflow/tfjs-node with network access';

/**
 * Turns a failure to load tfjs-node (or tfjs-node-gpu) into a sentence that says what is wrong and how to fix it.
 * Pure (string in, string out) so each case can be tested without breaking an installation.
 *
 * The three failures that happen in practice:
 * - the package is not installed (it is an optional peer dependency, never installed by `npm ci`);
 * - it is installed but its native addon `tfjs_binding.node` was never built (its install script downloads
 *   libtensorflow and was skipped or failed);
 * - the addon exists but the TensorFlow C library it links (libtensorflow.so.2, libtensorflow_framework.so.2)
 *   cannot be loaded (dlopen error: missing file, missing symbol, wrong architecture).
 */
export function explainLoadError(pkg: NodePackage, error: unknown): string {
  const err = error as NodeJS.ErrnoException | undefined;
  const message = String(err?.message ?? error);
  const code = err?.code;
  const install =
    pkg === '@tensorflow/tfjs-node-gpu' ? 'npm install @tensorflow/tfjs-node-gpu' : 'npm install @tensorflow/tfjs-node';

  const notFound = /Cannot find (?:package|module) '([^']+)'|Could not resolve "([^"]+)"|Failed to load url (\S+)/.exec(
    message,
  );
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || notFound) {
    const missing = notFound?.[1] ?? notFound?.[2] ?? notFound?.[3];
    if (missing === undefined || missing === pkg || missing.startsWith(`${pkg}/`)) {
      return `the package ${pkg} is not installed; run: ${install} (or, without access to Google's download host: npx tarm-setup-node)`;
    }
    return `${pkg} is installed but its dependency ${missing} is missing (pruned by a later npm install?); ${SETUP_HINT}`;
  }

  if (/tfjs_binding\.node/.test(message) && /can ?not be found/i.test(message)) {
    const where = /at path: (\S+?)\.?\s/.exec(`${message} `)?.[1];
    return `the native addon of ${pkg} was never built (${where ?? 'tfjs_binding.node'} is missing); ${SETUP_HINT}`;
  }

  const dlopen =
    code === 'ERR_DLOPEN_FAILED' ||
    /cannot open shared object file|undefined symbol|wrong ELF class|invalid ELF header|version `[^']+' not found|Library not loaded|image not found|specified module could not be found/.test(
      message,
    );
  if (dlopen) {
    const lib =
      /([\w.+-]+\.(?:so(?:\.\d+)*|dylib|dll)): cannot open shared object file/.exec(message)?.[1] ??
      /Library not loaded: (\S+)/.exec(message)?.[1];
    if (lib) {
      return `the TensorFlow C library ${lib} cannot be loaded by ${pkg}'s addon (${firstLine(message)}); it must lie in ${pkg}/deps/lib; ${SETUP_HINT}`;
    }
    const symbol = /undefined symbol: (\S+)/.exec(message)?.[1];
    if (symbol) {
      return `the TensorFlow C library found by ${pkg}'s addon lacks the symbol ${symbol} (an incompatible libtensorflow in ${pkg}/deps/lib); rerun \`npx tarm-setup-node --force\``;
    }
    return `${pkg}'s native addon or the TensorFlow C library (libtensorflow.so.2) cannot be loaded: ${firstLine(message)}; ${SETUP_HINT}`;
  }

  return `loading ${pkg} failed: ${firstLine(message)}`;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
