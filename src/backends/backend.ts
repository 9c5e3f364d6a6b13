import type { CatalogEntry } from "../agents/agent-group.js";
import type { Message } from "../channels/message.js";
import type { StreamingChannel } from "../channels/streaming.js";
import type { PublishTransport, RequestTransport } from "../channels/transport.js";
import type { EventTransport } from "../events/event-transport.js";
import type { Runtime } from "../runtime/runtime.js";
import type { StateStore } from "../state/types.js";
import type { SynchronizationManager } from "../sync/synchronization-manager.js";

/**
 * What a system hands its backend when it is built: its runtime, where its own catalog entries
 * come from, and where failures of subscribers go.
 * @internal
 */
export interface BackendHost {
  readonly runtime: Runtime;
  /** This system's own catalog entries (its agent groups, with their instance counts). */
  readonly localCatalog: () => CatalogEntry[];
  /** Reports a subscriber that threw on a publication delivered by the backend. */
  readonly onError: (error: unknown, message: Message) => void;
}

/**
 * The parts a backend gives a system. A part left out is the in-process default (an
 * InMemoryStateStore, direct request and publish delivery).
 * @internal
 */
export interface BackendParts {
  readonly store?: StateStore;
  readonly requestTransport?: RequestTransport;
  readonly publishTransport?: PublishTransport;
  /** Locks, semaphores and barriers shared through the backend (built on the host's runtime). */
  readonly sync?: SynchronizationManager;
  /** Streams shared through the backend (built on the host's runtime). */
  readonly streaming?: StreamingChannel;
  /** Where the event bus sends its events and keeps their shared history. */
  readonly eventTransport?: EventTransport;
}

/**
 * Where a {@link MultiAgentSystem} keeps its state and how its messages travel. The default is
 * in-process (`inProcessBackend()`: nothing to install, deterministic ids); `natsBackend()`
 * from `covey/nats` runs the same system across processes and machines. Agents, channels and
 * sync code never test which backend they run on.
 *
 * @example
 * ```ts
 * import { createSystem } from "covey";
 * import { natsBackend } from "covey/nats";
 * const system = createSystem({ backend: await natsBackend({ servers: "nats://127.0.0.1:4222", mesh: "crew" }) });
 * ```
 */
export interface Backend {
  /** `"in-process"`, `"nats"`, ... */
  readonly kind: string;
  /**
   * Prefix of every id the system issues (messages, tasks, events). Empty in-process, so ids
   * stay deterministic; unique per process for a shared backend, so ids never collide.
   */
  readonly idPrefix: string;
  /** Builds the system's parts. Called once, by the system's constructor. @internal */
  attach(host: BackendHost): BackendParts;
  /** Every agent name on offer through this backend (all processes), instances summed. @internal */
  catalog(local: CatalogEntry[]): CatalogEntry[];
  /** The system added or removed agents: the backend republishes its catalog entries. @internal */
  agentsChanged(): Promise<void>;
  /**
   * The number of the next instance of spec `name` across every process of the backend, so
   * instance ids `${name}#n` are unique on the whole mesh. Absent in-process (each system
   * numbers its own instances, deterministically). @internal
   */
  nextInstance?(name: string): Promise<number>;
  /**
   * Resolves when `system.shutdown()` should stop waiting for agents' departures to be
   * announced through the backend (a server that is down would make it wait out retries).
   * Absent in-process: shutdown waits for them. @internal
   */
  closeGrace?(): Promise<void>;
  /** Releases what the backend holds (its connection). Called by `system.shutdown()`. @internal */
  close(): Promise<void>;
}
