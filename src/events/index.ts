export { EventType } from "./event-type.js";
export type { EventTypeName } from "./event-type.js";
export { EventBus } from "./event-bus.js";
export { ReactiveCoordinator } from "./reactive-coordinator.js";
export type { PayloadArg, ReactiveCoordinatorOptions } from "./reactive-coordinator.js";
export type { SubscribeOptions } from "./event-bus.js";
export type {
  AgentEventPayload,
  BuiltinEvents,
  BusEvents,
  CoveyEvent,
  DefaultEvents,
  EmitInput,
  ErrorOccurredPayload,
  EventBusOptions,
  EventHandler,
  EventMap,
  EventMapShape,
  EventName,
  EventOf,
  HistoryQuery,
  TaskEventPayload,
} from "./types.js";
