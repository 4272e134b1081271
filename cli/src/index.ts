export { MeshRuntime, type RuntimeOptions } from './runtime.js';
export { loadPlugin, type IsthmusPlugin } from './plugins.js';
export { program, main } from './main.js';
