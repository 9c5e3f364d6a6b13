import type { EventMapShape } from "../events/index.js";
import type { MultiAgentSystem } from "../agents/system.js";
import type { StateStore } from "../state/types.js";
import { needMinutes, needName } from "./checks.js";
import { BoardCore, BoardEvent } from "./core.js";
import { ValidationError } from "../errors.js";
import { keys, kindOf } from "./keys.js";
import { BoardMember } from "./member.js";
import type { BoardChange, BoardTask, MemberPolicy } from "./types.js";

/** Options of {@link createBoard}. */
export interface BoardOptions {
  /** The state namespace the board keeps its records in. @default "board" */
  namespace?: string;
}

/**
 * The task board on a system's state: projects, milestones, ordered tracks, claims with
 * leases and fencing tokens, dashboards, messages, scoped memory and the team flow. Every
 * record lives in the system's state store (so a durable or shared store makes the board
 * durable or shared), every change is a compare-and-swap and emits a `board.*` event on
 * `system.events`. Verbs are methods of {@link Board.as}.
 */
export class Board {
  readonly #core: BoardCore;
  #closed = false;

  /** @internal use {@link createBoard} */
  constructor(system: MultiAgentSystem, opts: BoardOptions = {}) {
    this.#core = new BoardCore(system, needName(opts.namespace ?? "board", "namespace"));
  }

  /** The state store holding the board's records (the board namespace of `system.state`). */
  get store(): StateStore {
    return this.#core.store;
  }

  /**
   * A handle acting as agent `name`: nothing anonymous changes the board.
   * @example
   * ```ts
   * const planner = board.as("planner");
   * ```
   */
  as(name: string): BoardMember {
    return new BoardMember(this.#core, name);
  }

  /** Resolves when the leases that were on the store when the board started have their timers. */
  async ready(): Promise<void> {
    await this.#core.leases.ready;
  }

  /** Declares `member`'s policy (replacing the previous one); stored on the board, so every process sees it. */
  async setPolicy(member: string, policy: MemberPolicy): Promise<void> {
    needName(member, "member");
    if (typeof policy !== "object" || policy === null) throw new ValidationError("policy must be an object", [{ path: ["policy"], message: "must be an object" }]);
    for (const field of ["mayQueueTo", "requiredArtifacts"] as const) {
      const v = policy[field];
      if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== "string"))) {
        throw new ValidationError(`${field} must be an array of strings`, [{ path: [field], message: "must be string[]" }]);
      }
    }
    if (policy.leaseMinutes !== undefined) needMinutes(policy.leaseMinutes, "leaseMinutes");
    if (policy.maxLeaseMinutes !== undefined) needMinutes(policy.maxLeaseMinutes, "maxLeaseMinutes");
    await this.#core.store.set(keys.policy(member), JSON.parse(JSON.stringify(policy)) as MemberPolicy, { by: "board" });
    await this.#core.emit("board", BoardEvent.POLICY_SET, { member });
  }

  /** `member`'s policy (`{}` when none was set). */
  async getPolicy(member: string): Promise<MemberPolicy> {
    return this.#core.policy(needName(member, "member"));
  }

  /** Every task, in creation order. */
  async tasks(): Promise<BoardTask[]> {
    return this.#core.tasks();
  }

  /**
   * Calls `listener` with every committed change of the board, in commit order. Returns the
   * unsubscribe function (idempotent).
   */
  watch(listener: (change: BoardChange) => void): () => void {
    return this.#core.store.watch("*", (c) => {
      const entry = c.entry ?? c.previous;
      listener({ kind: kindOf(c.key), key: c.key, type: c.type, value: c.entry?.value, by: entry?.updatedBy ?? "" });
    });
  }

  /** Stops the lease timers and watches of this board object (the records stay in the store). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#core.leases.close();
  }
}

/**
 * Creates the task board on `system`'s state.
 *
 * @example
 * ```ts
 * const board = createBoard(system);
 * const planner = board.as("planner");
 * const project = await planner.createProject("API v2");
 * const t = await planner.createTask({ projectId: project.id, title: "Schema", track: "main", order: 0 });
 * await planner.assignRole(t.id, "worker", "implementer", "Follow existing patterns.");
 * ```
 */
export function createBoard<E extends EventMapShape<E>>(system: MultiAgentSystem<E>, opts: BoardOptions = {}): Board {
  // The board emits its own event types, whatever the system's event map declares.
  return new Board(system as unknown as MultiAgentSystem, opts);
}
