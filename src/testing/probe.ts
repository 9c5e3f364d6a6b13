import { AssertionError } from "node:assert";
import type { MultiAgentSystem } from "../agents/system.js";
import type { Message } from "../channels/index.js";
import { TimeoutError, ValidationError } from "../errors.js";
import type { CoveyEvent } from "../events/index.js";
import { VirtualClock } from "./virtual-clock.js";

/** A stand-in agent that records what it receives and answers when the test says so. */
export interface Probe {
  /** The next request not yet expected; waits on (virtual) time. @default timeout 1000 ms */
  expectRequest(opts?: { timeout?: number }): Promise<Message>;
  /** Answers the oldest unanswered request. */
  reply(value: unknown): void;
  /** Fails the oldest unanswered request: its caller gets HandlerError with `error` as cause. */
  fail(error: Error): void;
  /** Lets `ms` of virtual time pass and asserts that no request arrived meanwhile. */
  expectNoRequest(ms: number): Promise<void>;
  /** The next event of `type` emitted since the probe was created. @default timeout 1000 ms */
  expectEvent(type: string, opts?: { timeout?: number }): Promise<CoveyEvent>;
  /** Every request received so far, oldest first. */
  readonly received: readonly Message[];
  /** Stops answering as `name`. */
  close(): void;
}

interface Held {
  readonly message: Message;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
}

/**
 * Registers a stand-in agent under `name` (in the spirit of Akka's TestKit): calls to `name`
 * are recorded and wait until the test answers them with `reply` or `fail`. On a test
 * system, waits move the virtual clock themselves, so a probe test reads like a
 * synchronous one.
 *
 * @example
 * ```ts
 * const worker = createProbe(system, "worker");
 * const result = system.call("worker", { task: 1 });
 * expect((await worker.expectRequest()).payload).toEqual({ task: 1 });
 * worker.reply("done");
 * expect(await result).toBe("done");
 * ```
 */
export function createProbe(system: MultiAgentSystem, name: string): Probe {
  const clock = system.clock;
  const received: Message[] = [];
  const unanswered: Held[] = [];
  let expected = 0;
  const events: CoveyEvent[] = [];

  const unregister = system.communication.requestReply.registerHandler(
    name,
    (message) =>
      new Promise((resolve, reject) => {
        received.push(message);
        unanswered.push({ message, resolve, reject });
      }),
  );
  const unsubscribe = system.events.eventBus.subscribe("*", (e) => {
    events.push(e);
  });

  // Waits until `ready()` returns a value, driving a virtual clock up to the timeout.
  async function waitFor<T>(ready: () => T | undefined, timeout: number, what: string): Promise<T> {
    const start = clock.now();
    const deadline = start + timeout;
    if (clock instanceof VirtualClock) {
      for (;;) {
        await clock.settle();
        const got = ready();
        if (got !== undefined) return got;
        if (clock.now() >= deadline) throw new TimeoutError(what, timeout);
        const due = clock.nextDue;
        await clock.advance((due !== undefined && due < deadline ? due : deadline) - clock.now());
      }
    }
    for (;;) {
      const got = ready();
      if (got !== undefined) return got;
      if (clock.now() >= deadline) throw new TimeoutError(what, timeout);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  const oldest = (what: string): Held => {
    const held = unanswered.shift();
    if (held === undefined) throw new ValidationError(`probe ${JSON.stringify(name)}: no unanswered request to ${what}`);
    return held;
  };

  return {
    get received() {
      return received;
    },
    expectRequest(opts = {}) {
      return waitFor(() => (expected < received.length ? received[expected++] : undefined), opts.timeout ?? 1000, `probe ${JSON.stringify(name)} expecting a request`);
    },
    reply(value) {
      oldest("reply to").resolve(value);
    },
    fail(error) {
      oldest("fail").reject(error);
    },
    async expectNoRequest(ms) {
      const before = received.length;
      if (clock instanceof VirtualClock) await clock.advance(ms);
      else await new Promise((resolve) => setTimeout(resolve, ms));
      if (received.length > before) {
        throw new AssertionError({
          message: `probe ${JSON.stringify(name)} expected no request within ${ms}ms but got ${received.length - before}`,
          actual: received.length - before,
          expected: 0,
          operator: "expectNoRequest",
        });
      }
    },
    expectEvent(type, opts = {}) {
      return waitFor(
        () => {
          const i = events.findIndex((e) => e.type === type);
          return i < 0 ? undefined : events.splice(i, 1)[0];
        },
        opts.timeout ?? 1000,
        `probe ${JSON.stringify(name)} expecting event ${JSON.stringify(type)}`,
      );
    },
    close() {
      unregister();
      unsubscribe();
    },
  };
}
