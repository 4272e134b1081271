import 'reflect-metadata';

export * from './model/index.js';
export * from './config/object.js';
export * from './config/issues.js';
export * from './config/parse.js';
export * from './rules/compiled.js';
export * from './snapshot/mesh-snapshot.js';
export * from './bus/bus.js';
export * from './bus/in-memory-bus.js';
export * from './spi/contribution-provider.js';
export * from './spi/platform-adapter.js';
export * from './spi/config-source.js';
export * from './spi/admin-endpoint.js';
export * from './util/hash.js';
