import { isDraft, original } from "immer";
import { ClosedError } from "../errors.js";
import { resolveRuntime, type RuntimeOptions } from "../runtime/runtime.js";
import { InMemoryStateStore } from "../state/in-memory-store.js";
import type { StateEntry, StateStore } from "../state/types.js";
import { EventBus } from "./event-bus.js";
import { EventType } from "./event-type.js";
import type { BusEvents, CoveyEvent, DefaultEvents, EventHandler, EventMapShape, EventName, EventOf } from "./types.js";

/**
 * The payload argument of `ReactiveCoordinator#emit` for event type `K`: optional on an untyped
 * coordinator or when every field of the payload is optional, required otherwise.
 */
export type PayloadArg<E, K extends EventName<E>> = string extends keyof E
  ? [payload?: object]
  : Record<never, never> extends BusEvents<E>[K]
    ? [payload?: BusEvents<E>[K]]
    : [payload: BusEvents<E>[K]];

/** Options of {@link ReactiveCoordinator}. */
export interface ReactiveCoordinatorOptions<E extends EventMapShape<E> = DefaultEvents> extends RuntimeOptions {
  /**
   * The bus to react to.
   * @default a new EventBus on the same clock/runtime
   */
  eventBus?: EventBus<E>;
  /**
   * Where the default reactions write.
   * @default a new InMemoryStateStore on the same clock/runtime
   */
  state?: StateStore;
  /**
   * Keep `active_agents` current on `agent_joined` / `agent_left`. Each change rewrites the
   * whole list, so a join costs O(agents): turn it off for systems of many thousands of agents.
   * @default true
   */
  trackActiveAgents?: boolean;
}

/** The `updatedBy` of every write the default reactions make. */
const WRITER = "coordinator";
/** The key holding the ids of the agents that joined and have not left, in join order. */
const ACTIVE_AGENTS = "active_agents";

/**
 * Turns events into shared state: the textbook's reactive coordinator.
 *
 * Default reactions:
 * - `task_completed` with payload `{ taskId }` (or `{ task_id }`) sets
 *   `task:<taskId>:completed` = `true`;
 * - `agent_joined` / `agent_left` with payload `{ agentId }` (or `{ agent_id }`) add the id
 *   to / remove it from `active_agents` (a `string[]`, no duplicates, join order).
 *
 * Writes are made by `"coordinator"`; `emit` resolves after they are committed. Add your own
 * reactions with {@link ReactiveCoordinator.addReaction}.
 *
 * @example
 * ```ts
 * const coordinator = new ReactiveCoordinator();
 * await coordinator.emit("worker-1", EventType.AGENT_JOINED, { agentId: "worker-1" });
 * (await coordinator.state.get<string[]>("active_agents"))?.value; // ["worker-1"]
 * ```
 */
export class ReactiveCoordinator<E extends EventMapShape<E> = DefaultEvents> {
  readonly #bus: EventBus<E>;
  // The same bus, untyped: the default reactions handle built-in events whatever E says.
  readonly #raw: EventBus;
  readonly #state: StateStore;
  readonly #reactions = new Set<() => void>();
  // Membership updates run one after another: each is a read-modify-write of one key, and a
  // backend whose update is a network round trip would otherwise retry once per concurrent
  // join (50 simultaneous joins would exhaust update's retries). update's own retry still
  // covers writers outside this coordinator.
  #membership: Promise<unknown> = Promise.resolve();
  #closed = false;

  /**
   * @param opts - `eventBus` and `state` to use (each created when absent), and the
   *   `clock` for the ones it creates.
   */
  constructor(opts: ReactiveCoordinatorOptions<E> = {}) {
    const runtime = resolveRuntime(opts);
    this.#bus = opts.eventBus ?? new EventBus<E>({ runtime });
    this.#raw = this.#bus as unknown as EventBus;
    this.#state = opts.state ?? new InMemoryStateStore({ runtime });
    // The default reactions write shared state: once per event, by the process that emitted it
    // (on a bus shared across processes every process sees every event).
    const bus = this.#raw;
    this.#react(EventType.TASK_COMPLETED, (e) => (bus.isLocal(e) ? this.#taskCompleted(e) : undefined));
    if (opts.trackActiveAgents !== false) {
      this.#react(EventType.AGENT_JOINED, (e) => (bus.isLocal(e) ? this.#membershipChanged(e, true) : undefined));
      this.#react(EventType.AGENT_LEFT, (e) => (bus.isLocal(e) ? this.#membershipChanged(e, false) : undefined));
    }
  }

  /** The bus the coordinator reacts to. */
  get eventBus(): EventBus<E> {
    return this.#bus;
  }

  /** The store the default reactions write to. */
  get state(): StateStore {
    return this.#state;
  }

  /** True after {@link ReactiveCoordinator.close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Runs `reaction` for every later event of `type` (`"*"` for all). Same as
   * `eventBus.subscribe`, except that `close()` removes it too.
   *
   * @returns an idempotent function that removes the reaction.
   * @throws ClosedError after `close()`.
   * @example
   * ```ts
   * const off = coordinator.addReaction(EventType.TASK_FAILED, (e) => console.warn(e.payload));
   * ```
   */
  addReaction(type: "*", reaction: (e: EventOf<E>) => void | Promise<void>): () => void;
  addReaction<K extends EventName<E>>(type: K, reaction: (e: EventOf<E, K>) => void | Promise<void>): () => void;
  addReaction(type: string, reaction: (e: never) => void | Promise<void>): () => void {
    if (this.#closed) throw new ClosedError("reactive coordinator");
    return this.#react(type, reaction as EventHandler);
  }

  /**
   * Emits an event on the bus (the textbook's argument order).
   *
   * @returns the event, once every reaction to it has finished.
   * @throws ClosedError after `close()`.
   * @example
   * ```ts
   * await coordinator.emit("worker-1", EventType.TASK_COMPLETED, { taskId: "t1" });
   * ```
   */
  async emit<K extends EventName<E>>(source: string, type: K, ...payload: PayloadArg<E, K>): Promise<EventOf<E, K>> {
    if (this.#closed) throw new ClosedError("reactive coordinator");
    return (await this.#raw.emit({ type, source, payload: payload[0] ?? {} })) as EventOf<E, K>;
  }

  /**
   * Removes every reaction and closes the event bus (given or created): later `emit`,
   * `addReaction` and bus calls throw ClosedError. Reactions already running finish. The
   * state store is left open: it usually outlives the coordinator. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#reactions) off();
    this.#reactions.clear();
    this.#bus.close();
  }

  #react(type: string, reaction: EventHandler): () => void {
    const off = this.#raw.subscribe(type, reaction);
    const remove = (): void => {
      if (this.#reactions.delete(remove)) off();
    };
    this.#reactions.add(remove);
    return remove;
  }

  #taskCompleted(e: CoveyEvent): Promise<StateEntry<boolean>> | undefined {
    const taskId = idFrom(e.payload, "taskId", "task_id");
    if (taskId === undefined) return undefined;
    return this.#state.set(`task:${taskId}:completed`, true, { by: WRITER });
  }

  #membershipChanged(e: CoveyEvent, joined: boolean): Promise<StateEntry<string[]>> | undefined {
    const agentId = idFrom(e.payload, "agentId", "agent_id");
    if (agentId === undefined) return undefined;
    const write = (): Promise<StateEntry<string[]>> =>
      this.#state.update<string[]>(
        ACTIVE_AGENTS,
        (draft) => {
          // Work on the plain frozen list, not through the draft: every element read through
          // immer's proxy costs a trap, which made each join O(n) traps (ms per join at 3,000 agents).
          // A primitive (someone stored a non-list) is no draft: `original` would throw on it.
          const list: unknown = isDraft(draft) ? (original(draft) ?? draft) : draft;
          // Absent (or not a list, if someone else wrote the key): start a fresh list.
          if (!Array.isArray(list)) return joined ? [agentId] : [];
          const i = list.indexOf(agentId);
          if (joined && i < 0) return [...(list as string[]), agentId];
          if (!joined && i >= 0) return (list as string[]).filter((_, k) => k !== i);
          return undefined;
        },
        { by: WRITER },
      );
    const done = this.#membership.then(write);
    this.#membership = done.then(noop, noop);
    return done;
  }
}

function noop(): void {}

/** The id under `camel` or the textbook's `snake` key: a non-empty string or a finite number. */
function idFrom(payload: unknown, camel: string, snake: string): string | undefined {
  if (payload === null || typeof payload !== "object") return undefined;
  const p = payload as Record<string, unknown>;
  const v = p[camel] ?? p[snake];
  if (typeof v === "string") return v.length > 0 ? v : undefined;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}
