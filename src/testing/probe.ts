import { AssertionError } from "node:assert";
import type { AnyAgentSpec, OutputOf } from "../agents/spec.js";
import type { MultiAgentSystem } from "../agents/system.js";
import { parseWith } from "../agents/validate.js";
import type { Message } from "../channels/index.js";
import { TimeoutError, ValidationError } from "../errors.js";
import type { CoveyEvent, EventMapShape } from "../events/index.js";
import { VirtualClock } from "./virtual-clock.js";

/**
 * A stand-in agent that records what it receives and answers when the test says so. `I` is
 * the payload it receives and `O` what it may answer: from the spec it stands in for, or
 * `unknown` for a probe created by name.
 */
export interface Probe<I = unknown, O = unknown> {
  /** The next request not yet expected; waits on (virtual) time. @default timeout 1000 ms */
  expectRequest(opts?: { timeout?: number }): Promise<Message<I>>;
  /**
   * Answers the oldest unanswered request. A probe standing in for a spec checks `value`
   * against the spec's output contract first.
   * @throws ValidationError when `value` breaks the output contract; the request stays
   * unanswered.
   */
  reply(value: O): void;
  /** Fails the oldest unanswered request: its caller gets HandlerError with `error` as cause. */
  fail(error: Error): void;
  /** Lets `ms` of virtual time pass and asserts that no request arrived meanwhile. */
  expectNoRequest(ms: number): Promise<void>;
  /** The next event of `type` emitted since the probe was created. @default timeout 1000 ms */
  expectEvent(type: string, opts?: { timeout?: number }): Promise<CoveyEvent>;
  /** Every request received so far, oldest first. */
  readonly received: readonly Message<I>[];
  /** Stops answering as `name`. */
  close(): void;
}

interface Held {
  readonly message: Message;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
}

/** What a probe standing in for spec `S` receives: the input after the spec's contract (defaults applied). */
export type ProbeInput<S> = S extends { handler: (input: infer I, ...rest: never[]) => unknown } ? I : unknown;

/**
 * Registers a stand-in agent (in the spirit of Akka's TestKit): calls to it are recorded and
 * wait until the test answers them with `reply` or `fail`. On a test system, waits move the
 * virtual clock themselves, so a probe test reads like a synchronous one.
 *
 * Given the spec it stands in for, the probe answers under the spec's name, is typed from
 * it (the payload it receives, the reply it may give), parses each request with the spec's
 * input contract (a bad input fails the call with the ValidationError as cause), and checks
 * each reply against the output contract. Given a name, it is untyped and checks nothing.
 *
 * @example
 * ```ts
 * const worker = createProbe(system, workerSpec);   // typed from workerSpec
 * const result = system.call(workerSpec, { task: 1 });
 * expect((await worker.expectRequest()).payload).toEqual({ task: 1 });
 * worker.reply({ done: true });                     // checked against workerSpec.output
 * expect(await result).toEqual({ done: true });
 * ```
 */
export function createProbe<S extends AnyAgentSpec, E extends EventMapShape<E>>(system: MultiAgentSystem<E>, spec: S): Probe<ProbeInput<S>, OutputOf<S>>;
export function createProbe<E extends EventMapShape<E>>(system: MultiAgentSystem<E>, name: string): Probe;
export function createProbe<E extends EventMapShape<E>>(system: MultiAgentSystem<E>, target: string | AnyAgentSpec): Probe {
  const spec = typeof target === "string" ? undefined : target;
  const name = typeof target === "string" ? target : target.name;
  const clock = system.clock;
  const received: Message[] = [];
  const unanswered: Held[] = [];
  let expected = 0;
  const events: CoveyEvent[] = [];
  const input = spec?.input;
  const output = spec?.output;

  const unregister = system.communication.requestReply.registerHandler(name, (message) => {
    // Like the agent it stands in for, the probe sees its input after the contract.
    const m = input === undefined ? message : { ...message, payload: parseWith<unknown>(input, message.payload, "input", name) };
    return new Promise((resolve, reject) => {
      received.push(m);
      unanswered.push({ message: m, resolve, reject });
    });
  });
  // Untyped: a probe records every event, whatever the system's event map says.
  const bus = (system as unknown as MultiAgentSystem).events.eventBus;
  const unsubscribe = bus.subscribe("*", (e) => {
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
      // Checked before the request is taken, so a test can answer again after a bad reply.
      const checked = output === undefined ? value : parseWith<unknown>(output, value, "output", name);
      oldest("reply to").resolve(checked);
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
