export { describeCpu } from './host.js';
export { writeFileAtomic, writeJsonAtomic, saveCheckpoint, loadCheckpoint, readJsonIfExists } from './fs.js';
