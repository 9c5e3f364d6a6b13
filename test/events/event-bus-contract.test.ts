import { createSystem } from "../../src/agents/system.js";
import { ClosedError } from "../../src/errors.js";
import { EventBus } from "../../src/events/event-bus.js";
import type { EventSink, EventTransport } from "../../src/events/event-transport.js";
import type { CoveyEvent } from "../../src/events/types.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { eventBusContract, type SharedBuses } from "./event-bus-contract.js";

// In-process, "two buses that share their events" are one bus twice (two in-process systems
// never share events: that is what a backend is for; test/backends/nats/events.test.ts runs the
// same suite over NATS). An emit is complete when it resolves, so `eventually` checks once.
function once<T>(probe: () => T, done: (value: T) => boolean): Promise<T> {
  const value = probe();
  if (!done(value)) return Promise.reject(new Error(`not visible when emit resolved: ${JSON.stringify(value)}`));
  return Promise.resolve(value);
}

/** Polls on later turns, for the shared log below, whose deliveries come on later turns. */
async function soon<T>(probe: () => T, done: (value: T) => boolean): Promise<T> {
  for (let turn = 0; turn < 1_000; turn++) {
    const value = probe();
    if (done(value)) return value;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`not visible after 1000 turns: ${JSON.stringify(probe())}`);
}

/**
 * A shared log standing in for a backend: every transport joined to it gets every event in the
 * log's order, on a later turn (as from a network), others' events as JSON copies; `publish`
 * resolves once the publisher's own bus handled its event. It proves the bus's side of the
 * transport seam without a server.
 */
class SharedLog {
  readonly log: CoveyEvent[] = [];
  readonly #members = new Set<{ deliver(e: CoveyEvent): void }>();

  join(): EventTransport {
    let sink: EventSink | undefined;
    const pending = new Map<string, { event: CoveyEvent; resolve: () => void; reject: (e: unknown) => void }>();
    const member = {
      deliver: (e: CoveyEvent): void => {
        const own = pending.get(e.id);
        pending.delete(e.id);
        const done = sink?.receive(own?.event ?? e);
        if (own === undefined) return;
        if (done === undefined) own.resolve();
        else void done.then(own.resolve);
      },
    };
    return {
      attach: (s) => {
        sink = s;
        s.retain(this.log.slice(-s.historyLimit));
        this.#members.add(member);
      },
      publish: (event) => {
        if (!this.#members.has(member)) return Promise.reject(new ClosedError("shared log"));
        const copy = JSON.parse(JSON.stringify(event)) as CoveyEvent;
        return new Promise<void>((resolve, reject) => {
          pending.set(event.id, { event, resolve, reject });
          setImmediate(() => {
            this.log.push(copy);
            for (const m of this.#members) m.deliver(copy);
          });
        });
      },
      close: () => {
        this.#members.delete(member);
        for (const p of pending.values()) p.reject(new ClosedError("shared log"));
        pending.clear();
      },
    };
  }
}

eventBusContract("in-process EventBus", (opts) => {
  const bus = new EventBus(opts?.historyLimit === undefined ? {} : { historyLimit: opts.historyLimit });
  const buses: SharedBuses = { a: bus, b: bus, eventually: once, close: () => Promise.resolve(bus.close()) };
  return Promise.resolve(buses);
});

eventBusContract("in-process system", (opts) => {
  const system = createSystem(opts?.historyLimit === undefined ? {} : { historyLimit: opts.historyLimit });
  const bus = system.events.eventBus;
  return Promise.resolve<SharedBuses>({ a: bus, b: bus, eventually: once, close: () => system.shutdown() });
});

eventBusContract("two EventBuses on a transport (a shared log)", (opts) => {
  const log = new SharedLog();
  // Distinct id prefixes, as a shared backend gives each process.
  const make = (idPrefix: string): EventBus =>
    new EventBus({
      runtime: createRuntime({ idPrefix }),
      transport: log.join(),
      ...(opts?.historyLimit === undefined ? {} : { historyLimit: opts.historyLimit }),
    });
  const a = make("a:");
  const b = make("b:");
  return Promise.resolve<SharedBuses>({
    a,
    b,
    eventually: soon,
    close: () => {
      a.close();
      b.close();
      return Promise.resolve();
    },
  });
});
