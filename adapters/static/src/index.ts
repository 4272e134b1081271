export { StaticConfigSource } from './static-config-source.js';
export type { StaticSourceLogger, StaticConfigSourceOptions } from './static-config-source.js';
export { isConfigFileName, isEditorTempName } from './file-names.js';
export { staticModule } from './static-module.js';
