import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** The CLI package version, saved in every run's config.json. */
export const CODE_VERSION: string = `tarm@${(require('../package.json') as { version: string }).version}`;
