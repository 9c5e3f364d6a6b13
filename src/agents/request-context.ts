import type { CommunicationHub } from "../channels/index.js";
import type { RequestScope } from "../channels/transport.js";
import type { ReactiveCoordinator } from "../events/index.js";
import type { Clock } from "../runtime/clock.js";
import type { NamespacedState } from "../state/index.js";
import type { StateStore } from "../state/types.js";
import type { SynchronizationManager } from "../sync/index.js";
import { targetName, type StopListener, type SystemAgentContext } from "./agent-context.js";
import type { AgentContext, CallOptions } from "./context.js";
import { scopedCommunication, scopedSync } from "./scoped-services.js";
import type { AnyAgentSpec, InputOf, OutputOf } from "./spec.js";

/** The default timeout of a call, as the request-reply channel's. */
const DEFAULT_CALL_TIMEOUT = 30_000;

/**
 * The context one handler invocation receives: the agent's services plus the request's own
 * cancellation. It is made for every request on the call path, so it holds three references
 * and allocates nothing else until used: the AbortController is made when `signal` is first
 * read, the scoped `sync` / `communication` views when first read.
 * @internal
 */
export class RequestContext implements AgentContext, StopListener {
  readonly #agent: SystemAgentContext;
  readonly #scope: RequestScope | undefined;
  #controller: AbortController | undefined;
  #sync: SynchronizationManager | undefined;
  #communication: CommunicationHub | undefined;

  constructor(agent: SystemAgentContext, scope: RequestScope | undefined) {
    this.#agent = agent;
    this.#scope = scope;
  }

  get agentId(): string {
    return this.#agent.agentId;
  }

  get state(): NamespacedState {
    return this.#agent.state;
  }

  get kv(): StateStore {
    return this.#agent.kv;
  }

  get events(): ReactiveCoordinator {
    return this.#agent.events;
  }

  get clock(): Clock {
    return this.#agent.clock;
  }

  get agentSignal(): AbortSignal {
    return this.#agent.signal;
  }

  get sync(): SynchronizationManager {
    return (this.#sync ??= scopedSync(this.#agent.sync, (o) => this.#fill(o)));
  }

  get communication(): CommunicationHub {
    return (this.#communication ??= scopedCommunication(
      this.#agent.communication,
      (o) => this.#fill(o),
      (o) => this.#fillRequest(o),
    ));
  }

  get signal(): AbortSignal {
    if (this.#controller !== undefined) return this.#controller.signal;
    const scope = this.#scope;
    // A transport that cannot report its caller's cancellation: the agent-wide signal.
    if (scope === undefined) return this.#agent.signal;
    const controller = new AbortController();
    this.#controller = controller;
    if (scope.cancelled) controller.abort(scope.cancelReason);
    else if (this.#agent.stopped) controller.abort(this.#agent.stopReason());
    else if (!scope.done) {
      const agent = this.#agent;
      agent.watch(this);
      scope.onEnd = (cancelled, reason) => {
        agent.unwatch(this);
        if (cancelled) controller.abort(reason);
      };
    }
    return controller.signal;
  }

  /** The agent stopped while this request ran. @internal */
  stop(reason: unknown): void {
    this.#controller?.abort(reason);
  }

  call<S extends AnyAgentSpec>(spec: S, input: InputOf<S>, opts?: CallOptions): Promise<OutputOf<S>>;
  call<O = unknown>(name: string, input: unknown, opts?: CallOptions): Promise<O>;
  call(target: unknown, input: unknown, opts?: CallOptions): Promise<unknown> {
    return this.#agent.host.callAs(this.agentId, targetName(target), input, this.#fillRequest(opts) as CallOptions);
  }

  random(): number {
    return this.#agent.random();
  }

  /** A wait's options with this request's signal, unless the caller gave one. */
  // Methods, not arrow fields: a context is made per request and must not allocate closures.
  #fill(opts: unknown): unknown {
    const o = opts as { signal?: AbortSignal } | undefined;
    if (o?.signal !== undefined) return opts;
    return { ...o, signal: this.signal };
  }

  /**
   * A request's options. Without a signal of its own it gets this request's, which aborts with
   * the caller's TimeoutError when the caller's deadline passes: the inner call ends at that
   * instant with the caller's own error (a timeout of its own, armed later, would fire first
   * at the same instant and turn the caller's TimeoutError into a HandlerError). With a signal
   * of its own, its timeout is cut to the caller's remaining deadline instead.
   */
  #fillRequest(opts: unknown): unknown {
    const o = opts as CallOptions | undefined;
    if (o?.signal === undefined) return this.#fill(opts);
    const deadlineAt = this.#scope?.deadlineAt ?? Infinity;
    if (deadlineAt === Infinity) return opts;
    const remaining = Math.max(0, deadlineAt - this.#agent.clock.now());
    const given = o.timeout;
    // A bad timeout (NaN, negative, not a number) is passed on for the channel to reject.
    const timeout = given === undefined ? Math.min(DEFAULT_CALL_TIMEOUT, remaining) : typeof given === "number" && given >= 0 ? Math.min(given, remaining) : given;
    return { ...o, timeout };
  }
}
