export { defineAgent } from "./spec.js";
export type { AgentSpec, InputOf, OutputOf } from "./spec.js";
export type { AgentContext, CallOptions } from "./context.js";
export { CoordinatedAgent } from "./coordinated-agent.js";
export type { Task } from "./coordinated-agent.js";
export type { CatalogEntry } from "./agent-group.js";
export { MultiAgentSystem, createSystem } from "./system.js";
export type { SystemOptions, AddAgentOptions } from "./system.js";
