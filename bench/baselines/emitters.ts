import Emittery from "emittery";
import { EventEmitter } from "eventemitter3";

/** eventemitter3 with `listeners` no-op listeners on one event name. */
export function eventEmitter3(listeners: number, sink: { n: number }): EventEmitter {
  const ee = new EventEmitter();
  for (let i = 0; i < listeners; i++) ee.on("orders.created", () => void sink.n++);
  return ee;
}

/** emittery with `listeners` no-op listeners on one event name. */
export function emittery(listeners: number, sink: { n: number }): Emittery<{ "orders.created": unknown }> {
  const em = new Emittery<{ "orders.created": unknown }>();
  for (let i = 0; i < listeners; i++) em.on("orders.created", () => void sink.n++);
  return em;
}
