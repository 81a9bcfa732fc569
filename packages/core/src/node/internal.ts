/**
 * @tarm/core/node/internal: the Node-only file helpers the tarm packages share with each other (atomic writes,
 * optional JSON reads). Not part of the public API; may change in any release.
 */
export { writeFileAtomic, writeJsonAtomic, readJsonIfExists } from './fs.js';
