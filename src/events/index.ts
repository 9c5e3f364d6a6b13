export { EventType } from "./event-type.js";
export type { EventTypeName } from "./event-type.js";
export { EventBus } from "./event-bus.js";
export { ReactiveCoordinator } from "./reactive-coordinator.js";
export type { ReactiveCoordinatorOptions } from "./reactive-coordinator.js";
export type {
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
} from "./types.js";
