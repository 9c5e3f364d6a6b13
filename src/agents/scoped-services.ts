import type { CommunicationHub } from "../channels/index.js";
import type { SynchronizationManager } from "../sync/index.js";

/** Fills in what a wait made from a handler inherits from its request (signal, deadline). @internal */
export type FillOptions = (opts: unknown) => unknown;

/** Method name -> index of its options argument. */
type OptionSlots = Readonly<Record<string, number>>;

/**
 * A view of `target` whose listed methods get their options argument completed by `fill`;
 * `children` wrap what other methods return (a lock from `getLock`, ...). Everything else
 * (getters, other methods) is the target's own, called on the target itself so `#private`
 * fields keep working. The view is `instanceof` the target's class.
 */
function scoped<T extends object>(target: T, slots: OptionSlots, fill: FillOptions, children?: Readonly<Record<string, (value: unknown) => unknown>>): T {
  return new Proxy(target, {
    get(t, p) {
      const value = Reflect.get(t, p, t) as unknown;
      if (typeof value !== "function" || typeof p !== "string") return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (Object.hasOwn(slots, p)) {
        const index = slots[p]!;
        return (...args: unknown[]): unknown => {
          args.length = Math.max(args.length, index + 1);
          args[index] = fill(args[index]);
          return fn.apply(t, args);
        };
      }
      const wrap = children !== undefined && Object.hasOwn(children, p) ? children[p] : undefined;
      if (wrap !== undefined) return (...args: unknown[]): unknown => wrap(fn.apply(t, args));
      return fn.bind(t);
    },
  });
}

/** A lookup table with no prototype: "constructor" or "toString" are never slots. */
function slots(entries: Record<string, number>): OptionSlots {
  return Object.assign(Object.create(null) as Record<string, number>, entries);
}

/** Wait methods of the sync primitives and where their options go. */
const LOCK_SLOTS: OptionSlots = slots({ acquire: 1, withLock: 2 });
const WAIT_SLOTS: OptionSlots = slots({ wait: 1, acquire: 1, withPermit: 2 });
const NONE = slots({});

/**
 * The system's sync manager as a handler sees it: lock, semaphore and barrier waits made
 * without a `signal` use the request's. @internal
 */
export function scopedSync(sync: SynchronizationManager, fill: FillOptions): SynchronizationManager {
  return scoped(sync, NONE, fill, {
    getLock: (lock) => scoped(lock as object, LOCK_SLOTS, fill),
    getBarrier: (barrier) => scoped(barrier as object, WAIT_SLOTS, fill),
    getSemaphore: (semaphore) => scoped(semaphore as object, WAIT_SLOTS, fill),
  });
}

const REQUEST_SLOTS: OptionSlots = slots({ request: 3 });
const STREAM_SLOTS: OptionSlots = slots({ send: 2, receive: 1, iterate: 1 });
const PUBSUB_SLOTS: OptionSlots = slots({ once: 1, iterate: 1 });

/**
 * The system's channels as a handler sees them: requests, stream sends and receives (and
 * awaitable subscriptions) made without a `signal` use the request's; requests never wait
 * past the caller's deadline (`fillRequest`). @internal
 */
export function scopedCommunication(hub: CommunicationHub, fill: FillOptions, fillRequest: FillOptions): CommunicationHub {
  const requestReply = scoped(hub.requestReply, REQUEST_SLOTS, fillRequest);
  const streaming = scoped(hub.streaming, STREAM_SLOTS, fill);
  const pubSub = scoped(hub.pubSub, PUBSUB_SLOTS, fill);
  return new Proxy(hub, {
    get(t, p) {
      if (p === "requestReply") return requestReply;
      if (p === "streaming") return streaming;
      if (p === "pubSub") return pubSub;
      const value = Reflect.get(t, p, t) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(t) : value;
    },
  });
}
