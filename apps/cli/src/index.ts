export { run, buildProgram } from './program.js';
