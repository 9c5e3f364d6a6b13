export { natsBackend } from "./nats-backend.js";
export type { NatsBackend, NatsBackendOptions } from "./nats-backend.js";
export { natsStateStore, NatsStateStore } from "./kv-store.js";
export type { NatsStateStoreOptions } from "./kv-store.js";
export { NatsStreamingChannel } from "./streaming.js";
export type { NatsStreamingOptions } from "./streaming.js";
export type { Backend } from "../backend.js";
