export {
  CoveyError,
  ValidationError,
  VersionConflictError,
  UnknownNamespaceError,
  TimeoutError,
  NoResponderError,
  HandlerError,
  NoCapableAgentError,
  ClosedError,
  DeadlockError,
  BackendError,
  MessagesDroppedError,
} from "./errors.js";
export type { CoveyErrorCode, ValidationIssue } from "./errors.js";

export { systemClock, sleep, traceToMermaid } from "./runtime/index.js";
export type { Clock, TimerHandle, WaitOptions, Trace, TraceRecord, TraceListener, MermaidOptions } from "./runtime/index.js";

export { InMemoryStateStore, NamespacedState, ReplicatedState, lastWriteWins } from "./state/index.js";
export type {
  StateStore,
  StateEntry,
  StateChange,
  InMemoryStateStoreOptions,
  ReplicatedStateOptions,
  ListenerErrorHandler,
  UpdateContext,
  UpdateOptions,
  UpdateRecipe,
  UpdateResult,
  WatchOptions,
} from "./state/index.js";

export { RequestReplyChannel, PubSubChannel, StreamingChannel, CommunicationHub } from "./channels/index.js";
export type {
  Message,
  MessagePattern,
  MessageHandler,
  RequestHandler,
  PublishResult,
  CommunicationHubOptions,
  RequestReplyOptions,
  PendingRequestInfo,
  RequestScope,
  PubSubOptions,
  PubSubSubscribeOptions,
  IterateOptions,
  SubscriptionIterator,
  StreamHandle,
  StreamOptions,
  StreamInfo,
} from "./channels/index.js";

export { Lock, Barrier, Semaphore, SynchronizationManager } from "./sync/index.js";
export type { LockAcquireOptions, BarrierOptions, SemaphoreOptions } from "./sync/index.js";
export type { BarrierSnapshot, LockSnapshot, SemaphoreSnapshot, SyncSnapshot, SyncWaiterSnapshot } from "./sync/index.js";
export type { LockScope, WithLockOptions } from "./sync/index.js";

export { EventType, EventBus, ReactiveCoordinator } from "./events/index.js";
export type {
  CoveyEvent,
  EventTypeName,
  EventBusOptions,
  EventHandler,
  EventMap,
  EventName,
  EmitInput,
  HistoryQuery,
  DefaultEvents,
  ErrorOccurredPayload,
  ReactiveCoordinatorOptions,
  BuiltinEvents,
  BusEvents,
  EventOf,
  TaskEventPayload,
  AgentEventPayload,
  PayloadArg,
  SubscribeOptions,
} from "./events/index.js";

export { defineAgent, CoordinatedAgent, MultiAgentSystem, createSystem } from "./agents/index.js";
export { inProcessBackend } from "./backends/in-memory/index.js";
export type { Backend } from "./backends/backend.js";
export type {
  AgentSpec,
  AgentContext,
  CallOptions,
  InputOf,
  OutputOf,
  CatalogEntry,
  Task,
  SystemOptions,
  AddAgentOptions,
} from "./agents/index.js";
