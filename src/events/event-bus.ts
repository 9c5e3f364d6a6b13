import { errorMessage } from "../runtime/describe.js";
import { ClosedError, ValidationError } from "../errors.js";
import { firstItem, type FirstItemWait } from "../channels/first-item.js";
import { PushIterator, type IterateOptions, type SubscriptionIterator } from "../channels/push-iterator.js";
import { onAbort } from "../runtime/abort.js";
import type { WaitOptions } from "../runtime/wait.js";
import { assertJson } from "../runtime/json.js";
import { resolveRuntime, type Runtime } from "../runtime/runtime.js";
import { checkName } from "../runtime/wait.js";
import { EmitRun, type FailureHook, type Subscription } from "./dispatch.js";
import { EventHistory, checkCount } from "./event-history.js";
import type { EventTransport } from "./event-transport.js";
import { EventType } from "./event-type.js";
import type {
  CoveyEvent,
  DefaultEvents,
  EmitInput,
  ErrorOccurredPayload,
  EventBusOptions,
  EventHandler,
  EventMapShape,
  EventName,
  EventOf,
  HistoryQuery,
} from "./types.js";

/** The `source` of the `error_occurred` events the bus emits itself. */
const BUS_SOURCE = "event-bus";

/**
 * A typed in-process event bus with a bounded history.
 *
 * `emit` stores the event, then runs the handlers of its type and the `"*"` handlers. Sync
 * handlers are called directly and promise-returning ones awaited; `emit` resolves once all
 * of them have finished. A handler that throws or rejects never stops the others: the
 * failure goes to the `onError` option and is announced as an `error_occurred` event
 * (except a failure of an `error_occurred` handler, which would recurse).
 *
 * Give an event map to have event types and payloads checked at compile time (a typo in a
 * type name does not compile); the built-in types covey emits itself (`EventType`) are always
 * known, and the map may redeclare them with stricter payloads. Without a map any non-empty
 * string is an event type and any object a payload.
 *
 * Besides handlers, `once(type, { timeout, signal })` awaits the next event and
 * `iterate(type, { signal })` is a bounded async iterator for `for await`; both leave nothing
 * behind once done.
 *
 * Across processes (the bus of a system built on a shared backend such as `natsBackend`),
 * `emit` sends the event to every process of the mesh; each process stores it and runs its own
 * handlers when it arrives, so every process sees every event once and all histories are in
 * the same order. `emit` still resolves once the event is in this process's history and this
 * process's handlers finished (other processes run theirs on their own time). Event payloads
 * must then be JSON data (a ValidationError otherwise, before anything is sent), and the
 * `error_occurred` event about a failing handler is sent like any other, so every process sees
 * it. Every process runs its handlers for every event; a handler that must act once per event
 * (a write to shared state) checks {@link EventBus.isLocal}, as a `ReactiveCoordinator`'s
 * default reactions do.
 *
 * @typeParam Events - event type → payload type, e.g. `{ task_completed: { taskId: string } }`.
 * @example
 * ```ts
 * type MyEvents = { task_completed: { taskId: string } };
 * const bus = new EventBus<MyEvents>({ historyLimit: 100 });
 * bus.subscribe("task_completed", (e) => console.log(e.payload.taskId));
 * await bus.emit({ type: "task_completed", source: "worker", payload: { taskId: "t1" } });
 * ```
 */
export class EventBus<Events extends EventMapShape<Events> = DefaultEvents> {
  readonly #rt: Runtime;
  readonly #history: EventHistory;
  readonly #onError: ((error: unknown, event: CoveyEvent) => void) | undefined;
  // Copy-on-write arrays: an emit iterates the array it started with, so subscribing or
  // unsubscribing from inside a handler never disturbs the loop.
  readonly #subs = new Map<string, Subscription[]>();
  readonly #onFailure: FailureHook = (error, event) => this.#failed(error, event);
  // Pending `once` waits and open iterations, ended by close().
  readonly #waits = new Set<FirstItemWait>();
  readonly #iterators = new Set<{ end(): void }>();
  // Where events go when the bus spans processes; undefined in-process.
  readonly #transport: EventTransport | undefined;
  /** Events this bus sent through its transport (to tell them from other processes' events). */
  readonly #own = new WeakSet<CoveyEvent>();
  #closed = false;

  /**
   * @param opts - `historyLimit` (default 1000), `onError`, and a `clock`.
   */
  constructor(opts: EventBusOptions = {}) {
    this.#rt = resolveRuntime(opts);
    const historyLimit = opts.historyLimit ?? 1000;
    this.#history = new EventHistory(historyLimit);
    this.#onError = opts.onError;
    const transport = (this.#transport = opts.transport);
    transport?.attach({
      historyLimit,
      receive: (e) => this.#receive(e),
      retain: (events) => {
        for (const e of events) this.#history.add(e);
      },
    });
  }

  /** True after {@link EventBus.close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Whether `event` was emitted in this process. Always true for an in-process bus; on a bus
   * shared across processes (a NATS backend), events other processes emitted are not. Use it
   * for a reaction that must happen once per event, not once per process (e.g. a state write).
   * @example
   * ```ts
   * bus.subscribe("task_completed", (e) => { if (bus.isLocal(e)) void recordCompletion(e); });
   * ```
   */
  isLocal(event: CoveyEvent): boolean {
    return this.#transport === undefined || this.#own.has(event);
  }

  /**
   * Runs `handler` for every later event of `type`, or of every type with `"*"`.
   * Subscribing the same handler twice runs it twice; each returned function removes one.
   *
   * @returns an idempotent unsubscribe function; once it returns, the handler is not called
   *   again, not even for an emit that is in progress.
   * @throws ClosedError after `close()`; ValidationError for an empty type or a non-function.
   * @example
   * ```ts
   * const off = bus.subscribe("*", (e) => console.log(e.type));
   * off();
   * ```
   */
  subscribe(type: "*", handler: EventHandler<EventOf<Events>>, opts?: SubscribeOptions): () => void;
  subscribe<K extends EventName<Events>>(type: K, handler: EventHandler<EventOf<Events, K>>, opts?: SubscribeOptions): () => void;
  subscribe(type: string, handler: EventHandler<never>, opts?: SubscribeOptions): () => void {
    return this.#subscribe(type, handler as Subscription["handler"], opts);
  }

  #subscribe(type: string, handler: Subscription["handler"], opts: SubscribeOptions | undefined): () => void {
    if (this.#closed) throw new ClosedError("event bus");
    checkName(type, "event type");
    if (typeof handler !== "function") {
      throw new ValidationError(`handler for event type ${JSON.stringify(type)} must be a function`, [
        { path: ["handler"], message: "must be a function" },
      ]);
    }
    const signal = opts?.signal;
    if (signal?.aborted === true) return noop;
    const sub: Subscription = { type, handler, active: true };
    const list = this.#subs.get(type);
    this.#subs.set(type, list === undefined ? [sub] : [...list, sub]);
    if (signal === undefined) return () => this.#remove(sub);
    // Unsubscribing by hand also drops the abort listener: nothing is left on the signal.
    const off = onAbort(signal, () => this.#remove(sub));
    return () => {
      off();
      this.#remove(sub);
    };
  }

  /**
   * The next event of `type` (or of any type, with `"*"`) emitted from now on.
   *
   * Unlike {@link subscribe}, it takes one event and is gone: the subscription, its deadline and
   * its abort listener are removed whichever way the wait ends.
   * @returns the event, once its emit delivers it to handlers
   * @throws TimeoutError after `timeout` ms; the signal's reason when it aborts (at once if it
   *   already has); ClosedError when the bus is or gets closed
   * @example
   * ```ts
   * const done = await bus.once("task_completed", { timeout: 5_000 });
   * console.log(done.payload.taskId);
   * ```
   */
  once(type: "*", opts?: WaitOptions): Promise<EventOf<Events>>;
  once<K extends EventName<Events>>(type: K, opts?: WaitOptions): Promise<EventOf<Events, K>>;
  async once(type: string, opts?: WaitOptions): Promise<unknown> {
    checkName(type, "event type");
    opts?.signal?.throwIfAborted();
    if (this.#closed) throw new ClosedError("event bus");
    return firstItem<CoveyEvent>(
      (deliver) => this.#subscribe(type, deliver, undefined),
      opts,
      this.#rt.timers,
      `once(${JSON.stringify(type)}) on the event bus`,
      (wait) => {
        this.#waits.add(wait);
        return () => this.#waits.delete(wait);
      },
    );
  }

  /**
   * The events of `type` (or of every type, with `"*"`) emitted from now on, as an async
   * iterator for `for await`.
   *
   * Events are buffered while the loop body runs, up to `bufferSize` (default 1024); past that
   * the oldest buffered event is dropped and counted in the iterator's `dropped` (an emit never
   * waits for a slow loop). Breaking out of the loop, an aborted `signal` (the pending `next()`
   * rejects with its reason) and `close()` (the loop ends) all remove the subscription and
   * leave nothing behind.
   * @throws ClosedError after `close()`
   * @example
   * ```ts
   * for await (const e of bus.iterate("task_completed", { signal })) console.log(e.payload.taskId);
   * ```
   */
  iterate(type: "*", opts?: IterateOptions): SubscriptionIterator<EventOf<Events>>;
  iterate<K extends EventName<Events>>(type: K, opts?: IterateOptions): SubscriptionIterator<EventOf<Events, K>>;
  iterate(type: string, opts?: IterateOptions): SubscriptionIterator<unknown> {
    if (this.#closed) throw new ClosedError("event bus");
    checkName(type, "event type");
    const it = new PushIterator<CoveyEvent>((push) => this.#subscribe(type, push, undefined), opts, (ended) => this.#iterators.delete(ended));
    if (!it.ended) this.#iterators.add(it);
    return it;
  }

  /**
   * Removes every subscription of `handler` to `type` (the textbook form; the function
   * returned by `subscribe` removes just that one subscription). Unknown pairs are ignored.
   */
  unsubscribe(type: string, handler: Function): void {
    const list = this.#subs.get(type);
    if (list === undefined) return;
    let removed = false;
    for (const sub of list) {
      if (sub.handler === handler) {
        sub.active = false;
        removed = true;
      }
    }
    if (removed) this.#replace(type, list.filter((s) => s.active));
  }

  /** How many subscriptions there are to `type` (`"*"` included as its own type), or in all. */
  listenerCount(type?: string): number {
    if (type !== undefined) return this.#subs.get(type)?.length ?? 0;
    let n = 0;
    for (const list of this.#subs.values()) n += list.length;
    return n;
  }

  /**
   * Builds the event (id, clock timestamp, `{}` for a missing payload or metadata), stores it
   * in the bounded history, then runs the matching handlers. Across processes it sends the
   * event first, and stores and dispatches it when it comes back in the shared order.
   *
   * @returns the event, once every handler (of this process) has finished (an
   *   `error_occurred` event caused by a failing handler included).
   * @throws ClosedError after `close()`; ValidationError for an empty type or source, the
   *   type `"*"`, or (in a test system, or across processes) a payload that is not JSON data;
   *   across processes, TimeoutError when the backend did not take the event in time.
   */
  async emit<K extends EventName<Events>>(event: EmitInput<Events, K>): Promise<EventOf<Events, K>> {
    if (this.#closed) throw new ClosedError("event bus");
    if (event === null || typeof event !== "object") {
      throw new ValidationError("emit takes an event object { type, source, payload?, metadata? }", [
        { path: [], message: "must be an object" },
      ]);
    }
    const { type, source } = event;
    checkName(type, "event type");
    checkName(source, "event source");
    if (type === "*") {
      throw new ValidationError('"*" subscribes to every event type; it cannot be emitted', [
        { path: ["type"], message: '"*" is reserved' },
      ]);
    }
    const payload = (event.payload ?? {}) as Record<string, unknown>;
    const metadata = (event.metadata ?? {}) as Record<string, unknown>;
    for (const [name, value] of [["payload", payload], ["metadata", metadata]] as const) {
      if (typeof value !== "object" || Array.isArray(value)) {
        throw new ValidationError(`event ${name} must be an object`, [{ path: [name], message: "must be an object" }]);
      }
    }
    const transport = this.#transport;
    if (this.#rt.checkPayloads || transport !== undefined) {
      assertJson(payload, `payload of event ${JSON.stringify(type)}`);
      assertJson(metadata, `metadata of event ${JSON.stringify(type)}`);
    }
    if (transport !== undefined) {
      const sent = this.#build(type, source, payload, metadata);
      this.#own.add(sent);
      await transport.publish(sent);
      return sent as EventOf<Events, K>;
    }
    const e = this.#record(type, source, payload, metadata);
    const done = this.#dispatch(e);
    if (done !== undefined) await done;
    return e as EventOf<Events, K>;
  }

  /**
   * The newest `limit` events that match `type` and `source`, oldest first. Reads the
   * retained history only (see `historyLimit`); it stays readable after `close()`.
   *
   * @example
   * ```ts
   * bus.getHistory({ type: "task_completed", limit: 10 });
   * ```
   */
  getHistory<K extends EventName<Events>>(opts: HistoryQuery & { type: K }): EventOf<Events, K>[];
  getHistory(opts?: HistoryQuery): EventOf<Events>[];
  getHistory(opts: HistoryQuery = {}): EventOf<Events>[] {
    const limit = checkCount(opts.limit ?? 100, "limit");
    return this.#history.query(opts.type, opts.source, limit) as EventOf<Events>[];
  }

  /**
   * Drops every subscription; later `subscribe` and `emit` calls throw ClosedError.
   * Handlers already running finish; deliveries not yet run are skipped. Across processes it
   * stops receiving events, and emits still on their way reject with ClosedError. Idempotent.
   */
  close(): void {
    this.#closed = true;
    this.#transport?.close();
    for (const list of this.#subs.values()) for (const sub of list) sub.active = false;
    this.#subs.clear();
    for (const wait of [...this.#waits]) wait.cancel(new ClosedError("event bus"));
    for (const it of [...this.#iterators]) it.end();
  }

  #record(type: string, source: string, payload: Record<string, unknown>, metadata: Record<string, unknown>): CoveyEvent {
    const e = this.#build(type, source, payload, metadata);
    this.#keep(e);
    return e;
  }

  /** Into the bounded history, and the trace. */
  #keep(e: CoveyEvent): void {
    this.#history.add(e);
    this.#rt.tracer?.record("event", e.source, undefined, e.type, e.id);
  }

  #build(type: string, source: string, payload: Record<string, unknown>, metadata: Record<string, unknown>): CoveyEvent {
    const rt = this.#rt;
    return { id: rt.ids.next("evt"), type, source, timestamp: rt.clock.now(), payload, metadata };
  }

  /** An event in the shared order (this process's own included): history, then handlers. */
  #receive(e: CoveyEvent): Promise<void> | undefined {
    if (this.#closed) return undefined;
    this.#keep(e);
    return this.#dispatch(e);
  }

  #dispatch(e: CoveyEvent): Promise<void> | undefined {
    const typed = this.#subs.get(e.type);
    const any = this.#subs.get("*");
    if (typed === undefined && any === undefined) return undefined;
    const run = new EmitRun(e, this.#onFailure);
    const scheduler = this.#rt.scheduler;
    if (typed !== undefined) {
      for (const sub of typed) {
        run.expect();
        scheduler.deliver("event", () => run.invoke(sub));
      }
    }
    if (any !== undefined) {
      for (const sub of any) {
        run.expect();
        scheduler.deliver("event", () => run.invoke(sub));
      }
    }
    return run.done();
  }

  #failed(error: unknown, event: CoveyEvent): Promise<void> | undefined {
    const onError = this.#onError;
    if (onError !== undefined) {
      try {
        onError(error, event);
      } catch (err) {
        warn(`onError threw while reporting a failed ${JSON.stringify(event.type)} handler: ${describe(err)}`);
      }
    }
    // A failing error_occurred handler would recurse; after close nobody is listening.
    if (event.type === EventType.ERROR_OCCURRED || this.#closed) {
      if (onError === undefined) warn(`handler for event ${event.id} (${JSON.stringify(event.type)}) failed: ${describe(error)}`);
      return undefined;
    }
    const payload: ErrorOccurredPayload = {
      error: describe(error),
      errorName: nameOf(error),
      eventType: event.type,
      eventId: event.id,
      eventSource: event.source,
    };
    const transport = this.#transport;
    if (transport === undefined) return this.#dispatch(this.#record(EventType.ERROR_OCCURRED, BUS_SOURCE, payload as unknown as Record<string, unknown>, {}));
    // Sent like any event, so every process's history holds it in the same place.
    const failure = this.#build(EventType.ERROR_OCCURRED, BUS_SOURCE, payload as unknown as Record<string, unknown>, {});
    this.#own.add(failure);
    return transport.publish(failure).catch((err: unknown) => {
      if (onError === undefined) warn(`handler for event ${event.id} (${JSON.stringify(event.type)}) failed: ${describe(error)}; its error_occurred event was not sent: ${describe(err)}`);
    });
  }

  #remove(sub: Subscription): void {
    if (!sub.active) return;
    sub.active = false;
    const list = this.#subs.get(sub.type);
    if (list !== undefined) this.#replace(sub.type, list.filter((s) => s !== sub));
  }

  #replace(type: string, list: Subscription[]): void {
    if (list.length === 0) this.#subs.delete(type);
    else this.#subs.set(type, list);
  }
}

function noop(): void {}

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /** Unsubscribes when it aborts; an already-aborted signal subscribes nothing. */
  signal?: AbortSignal;
}

/** The message of what a handler threw, never throwing itself (a hostile Proxy included). */
function describe(error: unknown): string {
  try {
    return errorMessage(error);
  } catch {
    return "an unreadable value";
  }
}

/** The class name of what a handler threw; "unknown" for a non-Error or an unreadable value. */
function nameOf(error: unknown): string {
  try {
    return error instanceof Error ? String(error.name) : "unknown";
  } catch {
    return "unknown";
  }
}

// The last resort for a failure nothing else can receive: never silent, never fatal.
function warn(message: string): void {
  process.emitWarning(message, { code: "COVEY_EVENT_HANDLER_FAILED" });
}
