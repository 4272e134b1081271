export { NomadSimulator, uuid } from './simulator.js';
export type { AclRule, CheckInput, CheckStatus, Fault, RequestRecord, ServiceInput, SimulatorOptions } from './simulator.js';
export { parseGoDuration } from './duration.js';
