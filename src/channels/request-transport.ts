import type { Runtime } from "../runtime/runtime.js";
import { immediateScheduler, type Scheduler } from "../runtime/scheduler.js";
import { thenOf, type Message, type RequestHandler } from "./message.js";
import type { ReplySink, RequestTransport } from "./transport.js";

class Responder {
  readonly handler: RequestHandler;
  active = true;

  constructor(handler: RequestHandler) {
    this.handler = handler;
  }
}

/** The responders of one recipient; requests go round robin. */
class QueueGroup {
  readonly members: Responder[] = [];
  next = 0;
}

/**
 * Requests and replies inside one process: a handler is called directly (through the
 * runtime's scheduler), with no copy and no serialisation.
 * @internal
 */
export class InProcessRequestTransport implements RequestTransport {
  readonly #scheduler: Scheduler;
  readonly #groups = new Map<string, QueueGroup>();

  constructor(runtime: Runtime) {
    this.#scheduler = runtime.scheduler;
  }

  addResponder(recipient: string, handler: RequestHandler): () => void {
    let group = this.#groups.get(recipient);
    if (group === undefined) {
      group = new QueueGroup();
      this.#groups.set(recipient, group);
    }
    const responder = new Responder(handler);
    group.members.push(responder);
    const g = group;
    return () => {
      if (!responder.active) return;
      responder.active = false;
      const i = g.members.indexOf(responder);
      if (i < 0) return;
      g.members.splice(i, 1);
      // Keep the rotation where it was: the member after the removed one goes next.
      if (i < g.next) g.next--;
      if (g.next >= g.members.length) g.next = 0;
      if (g.members.length === 0 && this.#groups.get(recipient) === g) this.#groups.delete(recipient);
    };
  }

  hasResponder(recipient: string): boolean {
    return this.#groups.has(recipient);
  }

  send(request: Message, sink: ReplySink): void {
    const recipient = request.recipient!;
    const group = this.#groups.get(recipient);
    if (group === undefined) {
      sink.noResponder();
      return;
    }
    const members = group.members;
    const responder = members[group.next]!;
    group.next = group.next + 1 >= members.length ? 0 : group.next + 1;
    // The production scheduler runs a delivery at once: skip the closure it would need.
    if (this.#scheduler === immediateScheduler) this.#invoke(responder, request, sink);
    // One lane per caller and recipient: two requests of one caller reach the recipient in the
    // order they were sent, as the mailbox of a production system keeps them.
    else this.#scheduler.deliver("request", () => this.#invoke(responder, request, sink), recipient, `${request.sender}\u0000${recipient}`);
  }

  close(): void {
    for (const group of this.#groups.values()) {
      for (const responder of group.members) responder.active = false;
    }
    this.#groups.clear();
  }

  #invoke(responder: Responder, request: Message, sink: ReplySink): void {
    // The caller gave up while the delivery was on its way: the handler never starts.
    if (sink.cancelled) return;
    // A responder removed while the delivery was on its way: another member takes it.
    if (!responder.active) {
      this.send(request, sink);
      return;
    }
    let result: unknown;
    let then: ReturnType<typeof thenOf>;
    try {
      result = responder.handler(request, sink);
      // A hostile `then` getter (or Proxy trap) throws here: the handler's failure, not ours.
      then = thenOf(result);
    } catch (error) {
      sink.fail(error);
      return;
    }
    if (then === undefined) {
      sink.reply(result);
      return;
    }
    try {
      // The sink ignores all but the first outcome, so a thenable that calls back twice is harmless.
      then.call(
        result,
        (value) => sink.reply(value),
        (error: unknown) => sink.fail(error),
      );
    } catch (error) {
      sink.fail(error);
    }
  }
}
