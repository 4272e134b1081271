export { ConsulSimulator } from './simulator.js';
export type { AclRule, CheckStatus, Fault, InstanceInput, RequestRecord, SimulatorOptions } from './simulator.js';
export { parseGoDuration } from './duration.js';
