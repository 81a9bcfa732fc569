export { writeFileAtomic, writeJsonAtomic, saveCheckpoint, loadCheckpoint, readJsonIfExists } from './fs.js';
