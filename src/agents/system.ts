import { CommunicationHub } from "../channels/index.js";
import { ClosedError, HandlerError, NoCapableAgentError, NoResponderError, TimeoutError, ValidationError } from "../errors.js";
import { onAbort } from "../runtime/abort.js";
import { EventBus, EventType, ReactiveCoordinator } from "../events/index.js";
import { systemClock, type Clock } from "../runtime/clock.js";
import { createRuntime, type Runtime } from "../runtime/runtime.js";
import type { Scheduler } from "../runtime/scheduler.js";
import { emptyTrace, stateTracer, TraceBuffer, type Trace } from "../runtime/trace.js";
import type { Tracer } from "../runtime/trace.js";
import type { InspectOptions, Inspector } from "../inspector/types.js";
import { prefixLength } from "../state/key-space.js";
import { checkName, checkTimeout } from "../runtime/wait.js";
import { InMemoryStateStore, NamespacedState } from "../state/index.js";
import type { StateStore } from "../state/types.js";
import { SynchronizationManager } from "../sync/index.js";
import type { Backend } from "../backends/backend.js";
import { passThrough } from "../runtime/pass-through.js";
import { AgentGroup, type CatalogEntry } from "./agent-group.js";
import { SystemAgentContext, targetName, type AgentHost } from "./agent-context.js";
import type { AgentContext, CallOptions } from "./context.js";
import { ActivityTracker } from "./mailbox.js";
import { runScoped } from "./task-scope.js";
import { checkConcurrency, CoordinatedAgent, simulatedWork, type Task, type TaskWork } from "./coordinated-agent.js";
import type { AgentSpec, AnyAgentSpec, InputOf, OutputOf } from "./spec.js";
import type { DefaultEvents, EventMapShape } from "../events/types.js";
import { errorMessage } from "../runtime/describe.js";
import { parseWith } from "./validate.js";

/** Options of {@link MultiAgentSystem}. */
export interface SystemOptions {
  /** The source of time for every timeout, lease and timestamp. @default systemClock */
  clock?: Clock;
  /** Bound of the event history and of the state store's change history. @default 1000 */
  historyLimit?: number;
  /**
   * Record what crosses the system in `system.trace`. Off by default: recording costs
   * memory and time on every call. `{ limit }` bounds the records (default 10000);
   * `{ payloads: true }` keeps payloads in the records. State writes are recorded at commit,
   * in program order, with the version they wrote and the one they replaced; `{ reads: true }`
   * records state reads too (kind `read`, with the version read) where the store reports
   * them: the stores of test systems (`covey/testing`) do.
   */
  trace?: boolean | { limit?: number; payloads?: boolean; reads?: boolean };
  /**
   * Keep the shared `active_agents` list current as agents join and leave (the textbook's
   * reaction). Each change rewrites the whole list: a join costs O(agents), so turn it off
   * for systems of many thousands of agents.
   * @default true
   */
  trackActiveAgents?: boolean;
  /** The backend of `system.state`. @default a new InMemoryStateStore on the system's clock */
  store?: StateStore;
  /**
   * Where state lives and how messages travel. In-process by default (nothing to install);
   * `natsBackend()` from `covey/nats` runs the same system across processes. `shutdown()`
   * closes it.
   * @default in-process
   */
  backend?: Backend;
  /** @internal builds the store on the system's runtime (test systems wrap it). */
  storeFactory?: (runtime: Runtime) => StateStore;
  /** @internal the delivery scheduler (seeded in test systems). */
  scheduler?: Scheduler;
  /** @internal check every payload is JSON data (test systems). */
  checkPayloads?: boolean;
  /** @internal runs before every agent handler; may throw (fault injection). */
  beforeHandle?: (agent: CoordinatedAgent) => void;
  /** @internal the source of `ctx.random()` (seeded in test systems). @default Math.random */
  random?: () => number;
}

/** Options of the teaching-layer form of `addAgent`. */
export interface AddAgentOptions {
  /** Requests this agent runs at once. @default 1 */
  concurrency?: number;
  /** The work `executeTask` runs. @default 100 ms of simulated work on the system's clock */
  work?: (task: Task, ctx: AgentContext) => unknown;
}

const CALLER = "system";

/**
 * The request name under which a process of a shared backend takes tasks of `capability` from
 * other processes (one responder per process and capability; a queue group picks the process).
 */
const taskRoute = (capability: string): string => `\u0000task:${capability}`;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A complete multi-agent system: namespaced state, channels, sync primitives, the event bus
 * and its coordinator, and the agents wired to them. Teaching-layer agents are added by id
 * and capabilities; typed mesh agents from a spec, as many instances as you add.
 *
 * @example
 * ```ts
 * const system = createSystem();
 * await system.addAgent(defineAgent({ name: "echo", handler: (x: string) => x }));
 * console.log(await system.call("echo", "hi")); // "hi"
 * await system.shutdown();
 * ```
 */
export class MultiAgentSystem<E extends EventMapShape<E> = DefaultEvents> {
  readonly state: NamespacedState;
  readonly communication: CommunicationHub;
  readonly sync: SynchronizationManager;
  /** The event bus and its coordinator; `emit` / `subscribe` are checked against `E` plus the built-in event types. */
  readonly events: ReactiveCoordinator<E>;
  // The same coordinator, untyped: the system's own emits use built-in types whatever E says.
  readonly #coordinator: ReactiveCoordinator;
  /** The "shared" namespace: `state.namespace("shared")`; also `events.state`. */
  readonly kv: StateStore;
  readonly #runtime: Runtime;
  // Set later only by inspect(), on a system created without tracing.
  #trace: TraceBuffer | undefined;
  readonly #agents = new Map<string, CoordinatedAgent>();
  readonly #groups = new Map<string, AgentGroup>();
  /** Instances ever added per spec name: ids `${name}#n` are never reused, even after the name's last instance left. */
  readonly #added = new Map<string, number>();
  readonly #activity = new ActivityTracker();
  readonly #host: AgentHost;
  #inflight = 0;
  #idleWaiters: (() => void)[] = [];
  #closed = false;
  readonly #backend: Backend | undefined;
  /** Whether the backend is shared with other processes (tasks then travel between them). */
  readonly #shared: boolean;
  /** Per capability of this process's agents: how many have it, and its task route's unregister. */
  readonly #taskRoutes = new Map<string, { agents: number; unregister: () => void }>();
  readonly #inspectors = new Set<Inspector>();

  constructor(opts: SystemOptions = {}) {
    const trace = opts.trace;
    const clock = opts.clock ?? systemClock;
    this.#trace =
      trace === undefined || trace === false ? undefined : new TraceBuffer(() => clock.now(), trace === true ? {} : trace);
    this.#runtime = createRuntime({
      clock,
      scheduler: opts.scheduler,
      tracer: this.#trace,
      checkPayloads: opts.checkPayloads,
      idPrefix: opts.backend?.idPrefix,
      random: opts.random,
    });
    const runtime = this.#runtime;
    const historyLimit = opts.historyLimit;
    // On the system's runtime, watch deliveries go through its scheduler like every other hand-over.
    const backend = (this.#backend = opts.backend);
    this.#shared = backend !== undefined && backend.kind !== "in-process";
    // A backend's parts replace the in-process defaults; the parts it leaves out stay in-process.
    const parts = backend?.attach({
      runtime,
      localCatalog: () => this.#localCatalog(),
      onError: (error, message) =>
        void this.#coordinator.eventBus
          .emit({ type: EventType.ERROR_OCCURRED, source: message.sender, payload: { error: errorMessage(error), topic: message.topic ?? null, messageId: message.id } })
          .catch(() => undefined),
    });
    const store =
      opts.store ??
      parts?.store ??
      opts.storeFactory?.(runtime) ??
      new InMemoryStateStore(historyLimit !== undefined ? { runtime: storeRuntime(runtime), historyLimit } : { runtime: storeRuntime(runtime) });
    this.state = new NamespacedState(store);
    this.state.createNamespace("shared");
    this.state.createNamespace("agents");
    this.kv = this.state.namespace("shared");
    const bus = new EventBus({
      runtime,
      ...(historyLimit === undefined ? {} : { historyLimit }),
      ...(parts?.eventTransport === undefined ? {} : { transport: parts.eventTransport }),
    });
    this.#coordinator = new ReactiveCoordinator({ eventBus: bus, state: this.kv, trackActiveAgents: opts.trackActiveAgents ?? true });
    this.events = this.#coordinator as unknown as ReactiveCoordinator<E>;
    this.communication = new CommunicationHub({
      runtime,
      requestTransport: parts?.requestTransport,
      publishTransport: parts?.publishTransport,
      streaming: parts?.streaming,
      onError: (error, message) => {
        void bus
          .emit({
            type: EventType.ERROR_OCCURRED,
            source: message.sender,
            payload: {
              error: errorMessage(error),
              topic: message.topic ?? null,
              messageId: message.id,
            },
          })
          .catch(() => undefined);
      },
    });
    this.sync = parts?.sync ?? new SynchronizationManager({ runtime });
    this.#host = {
      state: this.state,
      kv: this.kv,
      communication: this.communication,
      sync: this.sync,
      events: this.#coordinator,
      clock: runtime.clock,
      activity: this.#activity,
      random: runtime.random,
      callAs: (from, name, input, callOpts) => this.#call(from, name, input, callOpts),
      nextTaskId: () => runtime.ids.next("task"),
      beforeHandle: opts.beforeHandle,
    };
    // The system's own stores record their writes at commit (see storeRuntime); a store given
    // by the user is traced through a watch, which sees each change once it is delivered.
    if (this.#trace !== undefined && (opts.store !== undefined || parts?.store !== undefined)) this.#traceState();
  }

  /** The agents of the system, by agentId. */
  get agents(): ReadonlyMap<string, CoordinatedAgent> {
    return this.#agents;
  }

  /** What crossed the system (empty unless created with `trace`). */
  get trace(): Trace {
    return this.#trace ?? emptyTrace;
  }

  /** The system's clock. */
  get clock(): Clock {
    return this.#runtime.clock;
  }

  /** Whether `shutdown()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Adds and starts an agent. With an id and capabilities: a teaching-layer agent whose work
   * is the default simulated work. With a spec: one more instance of a typed agent, with
   * agentId `${name}#n`; calls to `name` are load-balanced across its instances.
   * @throws ValidationError for a bad spec or an id already in use; ClosedError after shutdown.
   */
  addAgent(agentId: string, capabilities: string[], opts?: AddAgentOptions): Promise<CoordinatedAgent>;
  addAgent<I, O, In>(spec: AgentSpec<I, O, In>): Promise<CoordinatedAgent>;
  async addAgent(
    idOrSpec: string | AgentSpec<unknown, unknown>,
    capabilities?: string[],
    opts: AddAgentOptions = {},
  ): Promise<CoordinatedAgent> {
    this.#checkOpen();
    if (typeof idOrSpec === "string") {
      checkName(idOrSpec, "agentId");
      if (!Array.isArray(capabilities) || capabilities.some((c) => typeof c !== "string")) {
        throw new ValidationError("capabilities must be an array of strings", [{ path: ["capabilities"], message: "must be string[]" }]);
      }
      if (this.#groups.has(idOrSpec) || this.#agents.has(idOrSpec)) throw taken(idOrSpec);
      const concurrency = opts.concurrency ?? 1;
      checkConcurrency(concurrency);
      const group = new AgentGroup(idOrSpec, undefined);
      return this.#start(group, idOrSpec, capabilities, concurrency, undefined, opts.work ?? simulatedWork);
    }
    const spec = idOrSpec;
    checkSpec(spec);
    checkName(spec.name, "name");
    const concurrency = spec.concurrency ?? 1;
    checkConcurrency(concurrency);
    // On a shared backend the instance number comes from the mesh, so `${name}#n` names one
    // instance in every process. Asked first: what follows decides in one synchronous step.
    const meshNumber = this.#backend?.nextInstance === undefined ? undefined : await this.#backend.nextInstance(spec.name);
    this.#checkOpen();
    let group = this.#groups.get(spec.name);
    if (group === undefined) {
      if (this.#agents.has(spec.name)) throw taken(spec.name);
      group = new AgentGroup(spec.name, spec);
    } else if (group.spec === undefined) {
      throw taken(spec.name);
    }
    // Never a used id: not one of an instance removed earlier, nor an agent added by id.
    let n = this.#added.get(spec.name) ?? 0;
    if (meshNumber !== undefined && meshNumber - 1 > n) n = meshNumber - 1;
    let agentId: string;
    do agentId = `${spec.name}#${++n}`;
    while (this.#agents.has(agentId) || this.#groups.has(agentId));
    this.#added.set(spec.name, n);
    return this.#start(group, agentId, spec.capabilities ?? [], concurrency, spec, group.work);
  }

  /**
   * Removes an agent: it stops taking work, its queued requests reject with ClosedError at
   * once, its `context.signal` is aborted (the running request may still finish), and
   * AGENT_LEFT is emitted.
   * @returns false if there is no such agent.
   */
  async removeAgent(agentId: string): Promise<boolean> {
    checkName(agentId, "agentId");
    const agent = this.#agents.get(agentId);
    if (agent === undefined) return false;
    this.#agents.delete(agentId);
    if (this.#shared) for (const capability of new Set(agent.capabilities)) this.#dropTaskRoute(capability);
    const group = this.#groups.get(agent.name);
    if (group !== undefined) {
      group.remove(agent);
      if (group.instances.length === 0) {
        group.unregister?.();
        this.#groups.delete(agent.name);
      }
    }
    await agent.stop();
    await this.#backend?.agentsChanged().catch(() => undefined);
    return true;
  }

  /**
   * Runs a task on the least busy agent having `task.type` (default "general") among its
   * capabilities, through that agent's mailbox, with the textbook task flow. Over a shared
   * backend (NATS) an agent of this process is preferred; when none has the capability, the
   * task goes to another process of the mesh that has one (its least busy agent), with the
   * same outcome: the work's value, or what the work threw.
   *
   * Without a `timeout` it waits until the task ends. When `timeout` passes or `signal`
   * aborts, it rejects at once (TimeoutError / the signal's reason); a task still queued
   * leaves the mailbox and never starts, a running one sees its `ctx.signal` abort.
   * @throws NoCapableAgentError when no agent has the capability.
   */
  async submitTask(task: Task, opts: CallOptions = {}): Promise<unknown> {
    this.#checkOpen();
    checkTask(task);
    const timeout = checkTimeout(opts.timeout, "submitTask");
    opts.signal?.throwIfAborted();
    const type = task.type ?? "general";
    const chosen = this.#leastBusy(type);
    if (chosen === undefined) {
      if (!this.#shared) throw new NoCapableAgentError(type);
      return this.#submitRemote(task, type, opts);
    }
    const agent = chosen;
    this.#runtime.tracer?.record("task", CALLER, agent.agentId, type, task.id);
    this.#begin();
    try {
      return await runScoped(this.#runtime.timers, timeout, opts.signal, "submitTask", (scope) => agent.runTask(task, scope));
    } finally {
      this.#end();
    }
  }

  #leastBusy(capability: string): CoordinatedAgent | undefined {
    let chosen: CoordinatedAgent | undefined;
    for (const agent of this.#agents.values()) {
      if (agent.capabilities.includes(capability) && (chosen === undefined || agent.load < chosen.load)) chosen = agent;
    }
    return chosen;
  }

  // A task for another process: sent on its capability's task route, whose responders (one per
  // process having the capability) run it as submitTask does locally.
  async #submitRemote(task: Task, type: string, opts: CallOptions): Promise<unknown> {
    this.#runtime.tracer?.record("task", CALLER, taskRoute(type), type, task.id);
    this.#begin();
    try {
      // No deadline unless one is given, as for a local task.
      const requestOpts = opts.signal === undefined ? { timeout: opts.timeout ?? Infinity } : { timeout: opts.timeout ?? Infinity, signal: opts.signal };
      return await this.communication.requestReply.request(CALLER, taskRoute(type), task, requestOpts);
    } catch (error) {
      // Nobody serves the route, or its last capable agent left meanwhile.
      if (error instanceof NoResponderError || (error as { code?: unknown } | null)?.code === "NO_CAPABLE_AGENT") throw new NoCapableAgentError(type);
      // What the work threw, as a local task rejects with it (not wrapped in a HandlerError).
      if (error instanceof HandlerError) throw error.cause;
      throw error;
    } finally {
      this.#end();
    }
  }

  #addTaskRoute(capability: string): void {
    const route = this.#taskRoutes.get(capability);
    if (route !== undefined) {
      route.agents++;
      return;
    }
    const unregister = this.communication.requestReply.registerHandler(taskRoute(capability), (m, scope) => {
      const task = m.payload;
      try {
        checkTask(task);
      } catch (error) {
        // checkTask throws ValidationError only: the sender's own error, not a failure here.
        throw passThrough(error as ValidationError);
      }
      const agent = this.#leastBusy(capability);
      if (agent === undefined) throw passThrough(new NoCapableAgentError(capability));
      this.#runtime.tracer?.record("task", m.sender, agent.agentId, capability, task.id);
      return agent.runTask(task, scope);
    });
    this.#taskRoutes.set(capability, { agents: 1, unregister });
  }

  #dropTaskRoute(capability: string): void {
    const route = this.#taskRoutes.get(capability);
    if (route === undefined || --route.agents > 0) return;
    this.#taskRoutes.delete(capability);
    route.unregister();
  }

  /**
   * Calls an agent and waits for its reply: by the value `defineAgent` returned (the input is
   * checked at compile time against the contract's input type, and the result is typed), or
   * by name or instance id (`"sq#1"`). Input is checked against the agent's contract first,
   * however it is addressed (ValidationError, the handler never runs).
   *
   * When the timeout passes or `signal` aborts, the request is cancelled: still queued, it
   * never starts; running, its handler's `ctx.signal` aborts with the same reason.
   * @default timeout 30000 ms
   * @throws NoResponderError at once when nothing answers `name`; TimeoutError; HandlerError
   * when the handler threw or its output broke the contract; ClosedError after shutdown.
   */
  call<S extends AnyAgentSpec>(spec: S, input: InputOf<S>, opts?: CallOptions): Promise<OutputOf<S>>;
  call<O = unknown>(name: string, input: unknown, opts?: CallOptions): Promise<O>;
  call(target: unknown, input: unknown, opts?: CallOptions): Promise<unknown> {
    return this.#call(CALLER, targetName(target), input, opts);
  }

  /** The agents on offer: name, description, capabilities, instances and JSON Schemas of their contracts. */
  catalog(): CatalogEntry[] {
    const local = this.#localCatalog();
    return this.#backend === undefined ? local : this.#backend.catalog(local);
  }

  #localCatalog(): CatalogEntry[] {
    return [...this.#groups.values()].map((g) => g.catalogEntry());
  }
  /**
   * Starts the inspector, a local web page of this running system: agents, catalog (with a
   * form to call them when `allowCalls`), the live message flow, state with each key's
   * history, locks, semaphores, barriers, events, the board, and a replayer for traces.
   * It listens on loopback unless `host` says otherwise, and the URL it prints and returns
   * carries a random access token that every request must present. A system created without
   * `trace` starts recording now, so the page sees live records; a system that never calls
   * `inspect` pays nothing (the inspector's code is not even loaded). `shutdown()` closes it.
   * @default port 0 (a free port), host "127.0.0.1", allowCalls false (read-only)
   * @throws ValidationError for bad options; ClosedError after shutdown.
   * @example
   * ```ts
   * const inspector = await system.inspect({ port: 4000 }); // prints http://127.0.0.1:4000/?token=…
   * await inspector.close();
   * ```
   */
  async inspect(opts: InspectOptions = {}): Promise<Inspector> {
    this.#checkOpen();
    const { startInspector } = await import("../inspector/server.js");
    const inspector = await startInspector(this as unknown as MultiAgentSystem, opts, this.#recording());
    const handle: Inspector = {
      url: inspector.url,
      close: () => {
        this.#inspectors.delete(handle);
        return inspector.close();
      },
    };
    this.#inspectors.add(handle);
    return handle;
  }

  /**
   * Resolves when no call, task or handler is in flight, including a handler whose caller
   * already gave up (it runs until it returns). A handler waiting on a virtual timer is in
   * flight: advance the clock.
   */
  async idle(opts: { timeout?: number; signal?: AbortSignal } = {}): Promise<void> {
    const timeout = checkTimeout(opts.timeout, "idle");
    const { signal } = opts;
    signal?.throwIfAborted();
    if (!this.#busy()) {
      // Let deliveries already on their way (and the promise callbacks they start) run.
      await turn();
      if (!this.#busy()) return;
    }
    return new Promise<void>((resolve, reject) => {
      let done = false;
      let offAbort: (() => void) | undefined;
      const deadline =
        timeout === undefined
          ? undefined
          : this.#runtime.timers.add(timeout, () => finish(new TimeoutError("idle", timeout)));
      const finish = (error?: unknown): void => {
        if (done) return;
        done = true;
        deadline?.cancel();
        offAbort?.();
        if (error === undefined) resolve();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a TimeoutError, or the signal's reason unchanged
        else reject(error);
      };
      const check = (): void => {
        if (done) return;
        // Tasks and requests (calls are requests) wake us when the last one ends; deliveries a
        // scheduler already holds run by themselves within a few macrotask turns.
        if (this.#inflight > 0) this.#idleWaiters.push(check);
        else if (this.communication.requestReply.inFlight > 0) this.communication.requestReply.whenDrained(check);
        // A handler whose caller gave up is still running: wait for it too.
        else if (this.#activity.running > 0) this.#activity.whenQuiet(check);
        else if (this.#busy()) setImmediate(check);
        else setImmediate(() => (this.#busy() ? check() : finish()));
      };
      if (signal !== undefined) offAbort = onAbort(signal, (reason) => finish(reason));
      check();
    });
  }

  /**
   * Stops every agent, closes channels, streams, sync primitives and the event bus; every
   * pending wait ends with ClosedError and no timer is left behind. Later calls reject with
   * ClosedError. Idempotent.
   */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const inspector of [...this.#inspectors]) await inspector.close();
    // Channels first: every pending request and call ends with ClosedError before the agents'
    // signals abort their running handlers.
    this.communication.close();
    // An agent whose AGENT_LEFT cannot be sent (a backend whose connection is gone) is stopped
    // all the same. Over a backend whose server is unreachable, announcing each departure would
    // wait out its retries: all of them together get the backend's grace period, then shutdown
    // goes on (each agent is stopped here at once either way).
    const grace = this.#backend?.closeGrace?.();
    for (const id of [...this.#agents.keys()]) {
      const removed = this.removeAgent(id).catch(() => undefined);
      await (grace === undefined ? removed : Promise.race([removed, grace]));
    }
    this.sync.close();
    this.#coordinator.close();
    this.#runtime.timers.clear();
    this.#wakeIdle();
    await this.#backend?.close();
  }

  // Not async: one promise per call, the channel's. Failures are rejections, never throws.
  #call<O>(from: string, name: unknown, input: unknown, opts: CallOptions | undefined): Promise<O> {
    let payload = input;
    try {
      this.#checkOpen();
      // The channel checks `name` (ValidationError); a Map lookup takes any value meanwhile.
      // An instance id ("sq#1") has its spec's contract too.
      const schema = (this.#groups.get(name as string) ?? this.#agents.get(name as string))?.spec?.input;
      if (schema !== undefined) payload = parseWith(schema, input, "input", name as string);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a ValidationError or ClosedError
      return Promise.reject(error);
    }
    // The channel's own default timeout is the call's (30000 ms); its in-flight count is what
    // idle() watches.
    return this.communication.requestReply.request<O>(from, name as string, payload, opts);
  }

  async #start(
    group: AgentGroup,
    agentId: string,
    capabilities: readonly string[],
    concurrency: number,
    spec: AgentSpec<unknown, unknown> | undefined,
    work: TaskWork,
  ): Promise<CoordinatedAgent> {
    const context = new SystemAgentContext(agentId, this.#host);
    const agent = new CoordinatedAgent({ agentId, name: group.name, capabilities, context, concurrency, spec, work });
    group.instances.push(agent);
    this.#agents.set(agentId, agent);
    if (!this.#groups.has(group.name)) {
      this.#groups.set(group.name, group);
      // A teaching agent answers under its own id (its name); a mesh name dispatches to the
      // least busy instance.
      if (spec !== undefined) {
        const remoteInput = this.#backend !== undefined && this.#backend.kind !== "in-process" ? spec.input : undefined;
        group.unregister = this.communication.requestReply.registerHandler(group.name, (m, scope) => {
          // Over a shared backend the caller may be in another process, where this contract is
          // unknown: check the input here; a refusal is the caller's ValidationError, not a failure.
          if (remoteInput !== undefined) {
            try {
              m = { ...m, payload: parseWith(remoteInput, m.payload, "input", group.name) };
            } catch (error) {
              // parseWith throws ValidationError only; anything else is a failure of the check itself.
              if (error instanceof ValidationError) throw passThrough(error);
              throw error;
            }
          }
          const target = group.pick();
          if (target === undefined) throw new NoResponderError(group.name);
          // Read at each dispatch: inspect() may turn tracing on after the agent was added.
          this.#runtime.tracer?.record("dispatch", group.name, target.agentId, undefined, m.id);
          return target.receive(m, scope);
        });
      }
    }
    // Other processes of a shared backend send this process their tasks for these capabilities.
    if (this.#shared) for (const capability of new Set(capabilities)) this.#addTaskRoute(capability);
    await agent.start();
    // A shared backend publishes the new instance count to the mesh's catalog.
    await this.#backend?.agentsChanged().catch(() => undefined);
    return agent;
  }

  // The inspector needs live records: a system created without `trace` starts recording
  // (with payloads) when inspect() is called. Components read runtime.tracer at each use; the
  // stores were built without a tracer, so their writes reach the trace through a watch.
  #recording(): TraceBuffer {
    if (this.#trace === undefined) {
      const clock = this.#runtime.clock;
      this.#trace = new TraceBuffer(() => clock.now(), { payloads: true });
      (this.#runtime as { tracer: Tracer | undefined }).tracer = this.#trace;
      this.#traceState();
    }
    return this.#trace;
  }

  #traceState(): void {
    const tracer = this.#trace!;
    for (const ns of ["shared", "agents"]) {
      this.state.namespace(ns).watch("*", (change) => {
        const by = change.entry?.updatedBy ?? change.previous?.updatedBy;
        tracer.record("state", by, undefined, `${ns}/${change.key}`, undefined, change.type === "set"
            ? tracer.payloads
              ? { type: "set", version: change.entry?.version, value: change.entry?.value }
              : { type: "set", version: change.entry?.version }
            : { type: "delete" });
      });
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError("system");
  }

  #busy(): boolean {
    return (
      this.#inflight > 0 ||
      this.communication.requestReply.inFlight > 0 ||
      this.#activity.running > 0 ||
      this.#runtime.scheduler.pending > 0
    );
  }

  #begin(): void {
    this.#inflight++;
  }

  #end(): void {
    if (--this.#inflight === 0) this.#wakeIdle();
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    if (waiters.length === 0) return;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

/**
 * The runtime the system's store runs on: the system's, with a tracer that records each
 * write at commit under the key as the user wrote it (`shared/key`, not the store's encoded
 * key) and with the version it replaced.
 * @internal
 */
export function storeRuntime(runtime: Runtime): Runtime {
  const tracer = runtime.tracer;
  return { ...runtime, tracer: tracer === undefined ? undefined : stateTracer(tracer, namespacedKey) };
}

/** `6:shared:plan` -> `shared/plan`; a key outside every namespace stays as it is. */
function namespacedKey(storeKey: string): string {
  const n = prefixLength(storeKey);
  return n === 0 ? storeKey : `${storeKey.slice(storeKey.indexOf(":") + 1, n - 1)}/${storeKey.slice(n)}`;
}

function checkSpec(spec: unknown): asserts spec is AgentSpec<unknown, unknown> {
  const fail = (path: string, message: string): never => {
    throw new ValidationError(`Invalid agent spec: ${path} ${message}`, [{ path: path === "spec" ? [] : [path], message }]);
  };
  if (spec === null || typeof spec !== "object") fail("spec", "must be an object (or call addAgent(agentId, capabilities))");
  const s = spec as Record<string, unknown>;
  if (typeof s["handler"] !== "function") fail("handler", "must be a function");
  if (s["description"] !== undefined && typeof s["description"] !== "string") fail("description", "must be a string");
  const caps = s["capabilities"];
  if (caps !== undefined && (!Array.isArray(caps) || caps.some((c) => typeof c !== "string"))) fail("capabilities", "must be an array of strings");
  for (const key of ["input", "output"]) {
    const schema = s[key];
    if (schema !== undefined && (schema === null || typeof (schema as { safeParse?: unknown }).safeParse !== "function")) {
      fail(key, "must be a zod schema");
    }
  }
}

function checkTask(task: unknown): asserts task is Task {
  const problem =
    task === null || typeof task !== "object" || Array.isArray(task)
      ? { path: [], message: "a task must be an object { id?, type?, payload? }" }
      : (task as Task).id !== undefined && (typeof (task as Task).id !== "string" || (task as Task).id === "")
        ? { path: ["id"], message: "must be a non-empty string" }
        : (task as Task).type !== undefined && (typeof (task as Task).type !== "string" || (task as Task).type === "")
          ? { path: ["type"], message: "must be a non-empty string" }
          : undefined;
  if (problem !== undefined) {
    throw new ValidationError(`Invalid task${problem.path.length > 0 ? ` ${problem.path[0]}` : ""}: ${problem.message}`, [problem]);
  }
}

function taken(id: string): ValidationError {
  return new ValidationError(`agent id or name ${JSON.stringify(id)} is already in use`, [{ path: ["agentId"], message: "already in use" }]);
}

/**
 * Creates a {@link MultiAgentSystem}.
 *
 * @example
 * ```ts
 * const system = createSystem({ trace: true });
 * ```
 */
export function createSystem<E extends EventMapShape<E> = DefaultEvents>(opts?: SystemOptions): MultiAgentSystem<E> {
  return new MultiAgentSystem<E>(opts);
}
