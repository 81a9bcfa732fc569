import { createRequire } from 'node:module';
import { NODE_PACKAGES, type NodePackage } from './explain.js';

const require = createRequire(import.meta.url);

/** Whether a package can be resolved from here (the same resolution the adapter's dynamic import uses). */
function isInstalled(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** tfjs-node-gpu when it is installed, else tfjs-node, else undefined. */
export function pickNodePackage(installed: (pkg: string) => boolean = isInstalled): NodePackage | undefined {
  return NODE_PACKAGES.find((p) => installed(p));
}
