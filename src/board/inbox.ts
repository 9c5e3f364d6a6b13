import { ValidationError } from "../errors.js";
import { onAbort } from "../runtime/abort.js";
import { systemClock } from "../runtime/clock.js";
import { checkTimeout } from "../runtime/wait.js";
import { BoardEvent, MAX_RETRIES, type BoardCore } from "./core.js";
import { needName, optText } from "./checks.js";
import { keys } from "./keys.js";
import type { BoardMessage } from "./types.js";

/** Filters of `getMessages`. */
export interface MessageQuery {
  /** Only messages not acknowledged yet. @default false */
  unread?: boolean;
  /** Only messages from this agent. */
  from?: string;
}

/** Options of `waitForMessage`. */
export interface WaitForMessageOptions {
  /** Only a message from this agent ends the wait. */
  from?: string;
  /** Milliseconds on the system's clock; the wait resolves `undefined` when it runs out. */
  timeout?: number;
  signal?: AbortSignal;
}

/** @internal */
export async function send(core: BoardCore, me: string, to: string, text: string): Promise<BoardMessage> {
  needName(to, "to");
  const body = optText(text, "text");
  const seq = await core.nextSeq(me);
  const message: BoardMessage = { id: `msg${seq}`, from: me, to, text: body, at: core.now(), acknowledgedAt: null };
  await core.store.set(keys.message(to, seq), message, { by: me });
  await core.emit(me, BoardEvent.MESSAGE_SENT, { id: message.id, from: me, to });
  return message;
}

/** @internal */
export async function list(core: BoardCore, me: string, query: MessageQuery = {}): Promise<BoardMessage[]> {
  if (query.from !== undefined) needName(query.from, "from");
  const out: BoardMessage[] = [];
  for (const key of await core.store.keys(keys.inboxPrefix(me))) {
    const m = (await core.store.get<BoardMessage>(key))?.value;
    if (m === undefined) continue;
    if (query.unread === true && m.acknowledgedAt !== null) continue;
    if (query.from !== undefined && m.from !== query.from) continue;
    out.push(m);
  }
  return out;
}

/** Acknowledges my unread messages (all, those from one agent, or by id); returns how many. @internal */
export async function acknowledge(core: BoardCore, me: string, opts: { from?: string; ids?: readonly string[] } = {}): Promise<number> {
  if (opts.ids !== undefined && (!Array.isArray(opts.ids) || opts.ids.some((id) => typeof id !== "string"))) {
    throw new ValidationError("ids must be an array of message ids", [{ path: ["ids"], message: "must be string[]" }]);
  }
  const query: MessageQuery = opts.from !== undefined ? { unread: true, from: opts.from } : { unread: true };
  let count = 0;
  for (const m of await list(core, me, query)) {
    if (opts.ids !== undefined && !opts.ids.includes(m.id)) continue;
    const seq = Number(m.id.slice(3));
    let changed = false;
    await core.store.update<BoardMessage>(
      keys.message(me, seq),
      (draft) => {
        // Messages are never deleted, so the draft exists; a retry starts from the new value.
        changed = draft!.acknowledgedAt === null;
        if (changed) draft!.acknowledgedAt = core.now();
      },
      { by: me, maxRetries: MAX_RETRIES },
    );
    if (changed) {
      count++;
      await core.emit(me, BoardEvent.MESSAGE_ACKNOWLEDGED, { id: m.id, from: m.from, to: me });
    }
  }
  return count;
}

/**
 * Resolves with the oldest unread message (from `opts.from`, if given) as soon as there is
 * one: already in the inbox, or the moment it is written. Pushed by the store's watch, no
 * polling. `undefined` when the timeout runs out; rejects with the signal's reason on abort.
 * Leaves no watch, timer or listener behind.
 * @internal
 */
export async function waitFor(core: BoardCore, me: string, opts: WaitForMessageOptions = {}): Promise<BoardMessage | undefined> {
  const { from, signal } = opts;
  if (from !== undefined) needName(from, "from");
  const timeout = checkTimeout(opts.timeout, "waitForMessage");
  signal?.throwIfAborted();
  const clock = core.clock;
  return new Promise<BoardMessage | undefined>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | object | number | undefined;
    let offAbort: (() => void) | undefined;
    const matches = (m: BoardMessage | undefined): m is BoardMessage => m !== undefined && m.acknowledgedAt === null && (from === undefined || m.from === from);
    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      unwatch();
      offAbort?.();
      if (timer !== undefined) {
        if (clock === systemClock) clearTimeout(timer as ReturnType<typeof setTimeout>);
        else clock.clearTimeout(timer);
      }
      settle();
    };
    // Watch first, then read: a message written in between is seen by one or the other.
    const unwatch = core.store.watch(`${keys.inboxPrefix(me)}*`, (change) => {
      const m = change.entry?.value as BoardMessage | undefined;
      if (change.previous === undefined && matches(m)) finish(() => resolve(m));
    });
    if (signal !== undefined) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's reason, unchanged
      offAbort = onAbort(signal, (reason) => finish(() => reject(reason)));
    }
    if (timeout !== undefined) {
      const fire = (): void => finish(() => resolve(undefined));
      // A pending wait with a deadline keeps the process alive, as setTimeout does.
      timer = clock === systemClock ? setTimeout(fire, timeout) : clock.setTimeout(fire, timeout);
    }
    list(core, me, from !== undefined ? { unread: true, from } : { unread: true }).then(
      (found) => {
        const first = found[0];
        if (first !== undefined) finish(() => resolve(first));
      },
      (e: unknown) => finish(() => reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}
