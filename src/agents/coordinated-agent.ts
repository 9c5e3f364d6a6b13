import { ValidationError } from "../errors.js";
import type { Message } from "../channels/index.js";
import { thenOf } from "../channels/message.js";
import type { RequestScope } from "../channels/transport.js";
import { EventType } from "../events/index.js";
import { sleep } from "../runtime/wait.js";
import type { SystemAgentContext } from "./agent-context.js";
import type { AgentContext, CallOptions } from "./context.js";
import { agentClosedError, Mailbox } from "./mailbox.js";
import { RequestContext } from "./request-context.js";
import type { AgentSpec } from "./spec.js";
import { errorMessage } from "../runtime/describe.js";
import { parseWith } from "./validate.js";

/** A task as `submitTask` and `executeTask` take it. */
export interface Task {
  id?: string;
  /** The capability it needs. @default "general" */
  type?: string;
  payload?: unknown;
}

/** A unit of work in an agent's mailbox: a request, or a submitted task. */
type Job = Message | { readonly task: Task };

/** What the agent's `executeTask` runs between "started" and "completed". @internal */
export type TaskWork = (task: Task, ctx: AgentContext) => unknown;

/** @internal */
export interface AgentInit {
  readonly agentId: string;
  readonly name: string;
  readonly capabilities: readonly string[];
  readonly context: SystemAgentContext;
  readonly concurrency: number;
  /** Mesh agents: the typed spec; teaching agents: undefined. */
  readonly spec: AgentSpec<unknown, unknown> | undefined;
  readonly work: TaskWork;
}

/**
 * The textbook's simulated work: 100 ms on the system's clock (virtual in tests), then a
 * fixed result.
 */
export const simulatedWork: TaskWork = async (_task, ctx) => {
  await sleep(ctx.clock, 100, { signal: ctx.signal });
  return { status: "completed", output: "Result" };
};

/**
 * An agent with the whole coordination toolkit in its `context`. Teaching-layer agents
 * (added with an id and capabilities) answer the textbook's `execute_task` / `get_status`
 * requests; mesh agents (added from a spec) run their typed handler for each request.
 */
export class CoordinatedAgent {
  readonly agentId: string;
  /** The address calls use; for teaching-layer agents it equals `agentId`. */
  readonly name: string;
  readonly capabilities: string[];
  readonly context: AgentContext;
  readonly #context: SystemAgentContext;
  readonly #mailbox: Mailbox<Job>;
  readonly #spec: AgentSpec<unknown, unknown> | undefined;
  readonly #work: TaskWork;
  #unregister: (() => void) | undefined;
  #state: "new" | "running" | "stopped" = "new";

  /** @internal agents are created by `MultiAgentSystem.addAgent`. */
  constructor(init: AgentInit) {
    this.agentId = init.agentId;
    this.name = init.name;
    this.capabilities = [...init.capabilities];
    this.context = init.context;
    this.#context = init.context;
    this.#mailbox = new Mailbox<Job>(init.concurrency, init.agentId, this, init.context.host.activity);
    this.#spec = init.spec;
    this.#work = init.work;
  }

  /** The typed spec of a mesh agent (undefined for a teaching agent). @internal */
  get spec(): AgentSpec<unknown, unknown> | undefined {
    return this.#spec;
  }

  /** True between `start()` and `stop()`. */
  get active(): boolean {
    return this.#state === "running";
  }

  /** Requests and tasks running plus queued in this agent's mailbox: what "least busy" compares. */
  get load(): number {
    return this.#mailbox.load;
  }

  /** Requests and tasks waiting in this agent's mailbox for a free slot (the mailbox depth). */
  get queued(): number {
    return this.#mailbox.queued;
  }

  /**
   * Handlers (requests and tasks) running now, at most the agent's concurrency. A handler
   * whose caller already gave up still counts until it returns: it keeps its slot.
   */
  get running(): number {
    return this.#mailbox.active;
  }

  /** `"running"` between `start()` and `stop()`, `"stopped"` before and after. */
  get state(): "running" | "stopped" {
    return this.#state === "running" ? "running" : "stopped";
  }

  /** Announces the agent (AGENT_JOINED) and registers its request handler under its id. */
  async start(): Promise<void> {
    if (this.#state !== "new") return;
    this.#state = "running";
    this.#unregister = this.context.communication.requestReply.registerHandler(this.agentId, (m, scope) => this.#mailbox.push(m, scope));
    await this.context.events.emit(this.agentId, EventType.AGENT_JOINED, {
      agentId: this.agentId,
      capabilities: this.capabilities,
    });
  }

  /**
   * Stops taking work: queued requests reject with ClosedError at once, `context.signal` and
   * every running request's `ctx.signal` are aborted (ClosedError), the running requests may
   * finish; then emits AGENT_LEFT.
   */
  async stop(): Promise<void> {
    if (this.#state === "stopped") return;
    const wasRunning = this.#state === "running";
    this.#state = "stopped";
    this.#unregister?.();
    this.#mailbox.close();
    this.#context.abort(() => agentClosedError(`agent ${JSON.stringify(this.agentId)}`));
    if (wasRunning) await this.context.events.emit(this.agentId, EventType.AGENT_LEFT, { agentId: this.agentId });
  }

  /**
   * Runs one request in this agent's mailbox (now, if a slot is free): mesh agents run their
   * handler on the payload, teaching agents answer the textbook protocol. Returns the value,
   * or a promise of it. @internal
   */
  receive(message: Message, scope?: RequestScope): unknown {
    return this.#mailbox.push(message, scope);
  }

  /** Queues `executeTask(task)` in this agent's mailbox; `scope` cancels it. @internal */
  async runTask(task: Task, scope?: RequestScope): Promise<unknown> {
    return this.#mailbox.push({ task }, scope);
  }

  /**
   * Answers a textbook request: `{ action: "execute_task", task }` runs the task,
   * `{ action: "get_status" }` returns the status; anything else gets `{ error }`.
   */
  async handleRequest(message: Pick<Message, "payload">): Promise<unknown> {
    return this.#handleRequest(message, this.context);
  }

  async #handleRequest(message: Pick<Message, "payload">, ctx: AgentContext): Promise<unknown> {
    const payload = message.payload as { action?: unknown; task?: Task } | null | undefined;
    const action = payload?.action;
    if (action === "execute_task") return this.#executeTask(payload?.task ?? {}, ctx);
    if (action === "get_status") return this.getStatus();
    return { error: "Unknown action" };
  }

  /**
   * Runs a task with the textbook's coordination: emits TASK_STARTED, sets shared
   * `task:<id>:status` to "in_progress", holds lock `task:<id>`, runs the work, stores
   * `task:<id>:result`, emits TASK_COMPLETED (or TASK_FAILED and rethrows), releases the lock.
   * The status ends as "completed" or "failed".
   */
  async executeTask(task: Task): Promise<unknown> {
    return this.#executeTask(task, this.context);
  }

  async #executeTask(task: Task, ctx: AgentContext): Promise<unknown> {
    const taskId = task.id ?? this.#context.host.nextTaskId();
    const shared = ctx.state.namespace("shared");
    await ctx.events.emit(this.agentId, EventType.TASK_STARTED, { taskId });
    await shared.set(`task:${taskId}:status`, "in_progress", { by: this.agentId });
    const lock = ctx.sync.getLock(`task:${taskId}`);
    await lock.acquire(this.agentId, { signal: ctx.signal });
    const token = lock.fencingToken;
    try {
      const result = await this.#work(task, ctx);
      await shared.set(`task:${taskId}:result`, result ?? null, { by: this.agentId });
      await shared.set(`task:${taskId}:status`, "completed", { by: this.agentId });
      await ctx.events.emit(this.agentId, EventType.TASK_COMPLETED, { taskId, result: result ?? null });
      return result;
    } catch (error) {
      await shared.set(`task:${taskId}:status`, "failed", { by: this.agentId }).catch(() => undefined);
      await ctx.events.emit(this.agentId, EventType.TASK_FAILED, {
        taskId,
        error: errorMessage(error),
      });
      throw error;
    } finally {
      lock.release(this.agentId, token);
    }
  }

  /** This agent's id, capabilities and whether it is running. */
  async getStatus(): Promise<{ agentId: string; capabilities: string[]; active: boolean }> {
    return { agentId: this.agentId, capabilities: [...this.capabilities], active: this.active };
  }

  /**
   * Sends a textbook request `{ action, ...payload }` to another agent by id and waits for the
   * reply. Like every request: 30000 ms by default, and when it times out or `opts.signal`
   * aborts, the peer's queued work never starts and its running work sees `ctx.signal` abort.
   */
  async requestPeer(peerId: string, action: string, payload?: object, opts?: CallOptions): Promise<unknown> {
    return this.context.communication.requestReply.request(this.agentId, peerId, { ...payload, action }, opts);
  }

  /**
   * Runs one mailbox job. Not async: a synchronous handler's value goes straight back to the
   * channel. @internal
   */
  handleJob(job: Job, scope: RequestScope | undefined): unknown {
    this.#context.host.beforeHandle?.(this);
    const ctx = new RequestContext(this.#context, scope);
    if ("task" in job) return this.#executeTask(job.task, ctx);
    const spec = this.#spec;
    if (spec === undefined) return this.#handleRequest(job, ctx);
    const output = spec.handler(job.payload, ctx);
    const schema = spec.output;
    if (schema === undefined) return output;
    // Any thenable, not only native promises: the contract applies to the value it resolves to.
    const then = thenOf(output);
    if (then === undefined) return parseWith(schema, output, "output", this.name);
    const value = then === nativeThen ? (output as Promise<unknown>) : new Promise((resolve, reject) => then.call(output, resolve, reject));
    return value.then((v: unknown) => parseWith(schema, v, "output", this.name));
  }
}

// eslint-disable-next-line @typescript-eslint/unbound-method -- compared by identity, never called unbound
const nativeThen = Promise.prototype.then;

/** Throws unless `concurrency` is a whole number >= 1. @internal */
export function checkConcurrency(concurrency: number): void {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ValidationError(`concurrency must be a whole number >= 1, got ${concurrency}`, [
      { path: ["concurrency"], message: "must be a whole number >= 1" },
    ]);
  }
}
