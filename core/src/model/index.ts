export * from './service.js';
export * from './workload.js';
export * from './shard.js';
