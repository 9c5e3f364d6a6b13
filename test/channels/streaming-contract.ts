import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import type { StreamInfo, StreamingChannel } from "../../src/channels/streaming.js";
import { ClosedError, TimeoutError } from "../../src/errors.js";

/**
 * Two handles on streams shared by both: the same channel twice in-process, two systems'
 * `communication.streaming` on one NATS mesh.
 */
export interface StreamingPair {
  readonly a: StreamingChannel;
  readonly b: StreamingChannel;
  /** A snapshot of the stream where it lives (to wait for a blocked sender or a waiting receiver). */
  info(streamId: string): Promise<StreamInfo | undefined> | StreamInfo | undefined;
  /**
   * Resolves once `side.createStream(id, ...)` took effect where the stream lives (at once
   * in-process), so the other side's first use cannot come before it.
   */
  created(side: StreamingChannel, streamId: string): Promise<void>;
  /** Lets `ms` of the channels' clock pass (advances a virtual clock; real time passes by itself). */
  elapse(ms: number): Promise<void>;
  /** True when no wait is left anywhere: no timer in-process, nothing in flight between processes. */
  idle(): boolean | Promise<boolean>;
  close(): Promise<void>;
}

/** Checks a condition every few ms (real time) until it holds; fails after 5 s. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not within 5 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function state(p: Promise<unknown>): Promise<"pending" | "fulfilled" | "rejected"> {
  const marker = {};
  return Promise.race([p, Promise.resolve(marker)]).then(
    (v) => (v === marker ? "pending" : "fulfilled"),
    () => "rejected",
  );
}

let streams = 0;
/** A stream id no other test of the run uses. */
function fresh(): string {
  return `contract.s${++streams}`;
}

/**
 * The behaviour every StreamingChannel shares, whatever carries it: FIFO, backpressure, waits
 * that end with nothing left behind, closing, and no item lost or duplicated when receivers
 * give up. `factory` gives two handles sharing streams; each test uses its own stream id.
 */
export function streamingContract(name: string, factory: () => Promise<StreamingPair>): void {
  async function withPair(body: (pair: StreamingPair) => Promise<void>): Promise<void> {
    const pair = await factory();
    try {
      await body(pair);
      // Every wait of the test ended: none may leave a timer, a waiter or an unacknowledged item behind.
      await until(() => pair.idle(), "nothing left behind once every wait ended");
    } finally {
      await pair.close();
    }
  }

  describe(`${name}: streaming contract`, () => {
    it("delivers in FIFO order from one side to the other, both ways", async () => {
      await withPair(async ({ a, b }) => {
        const id = fresh();
        for (let i = 0; i < 10; i++) await a.send(id, i);
        const got: unknown[] = [];
        for (let i = 0; i < 10; i++) got.push(await b.receive(id));
        expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        for (const word of ["x", "y", "z"]) await b.send(id, { word });
        expect([await a.receive(id), await a.receive(id), await a.receive(id)]).toEqual([{ word: "x" }, { word: "y" }, { word: "z" }]);
      });
    });

    it("blocks the (highWaterMark+1)-th send until a receive on the other side makes room", async () => {
      await withPair(async (pair) => {
        const { a, b } = pair;
        const id = fresh();
        const handle = a.createStream<number>(id, { highWaterMark: 2 });
        await pair.created(a, id);
        await handle.send(1);
        await handle.send(2);
        const third = handle.send(3);
        await until(async () => (await pair.info(id))?.blockedSenders === 1, "the third send is blocked");
        expect(await state(third)).toBe("pending");
        expect(await pair.info(id)).toMatchObject({ highWaterMark: 2, buffered: 2, blockedSenders: 1 });
        await expect(b.stream<number>(id).receive()).resolves.toBe(1);
        await third;
        expect([await b.receive(id), await b.receive(id)]).toEqual([2, 3]);
        expect(await pair.info(id)).toMatchObject({ buffered: 0, blockedSenders: 0, waitingReceivers: 0 });
      });
    });

    it("creates a stream on first use with highWaterMark 16", async () => {
      await withPair(async (pair) => {
        const id = fresh();
        for (let i = 0; i < 16; i++) await pair.b.send(id, i);
        const blocked = pair.b.send(id, 16);
        await until(async () => (await pair.info(id))?.blockedSenders === 1, "the 17th send is blocked");
        expect(await pair.info(id)).toMatchObject({ highWaterMark: 16, buffered: 16 });
        await expect(pair.a.receive(id)).resolves.toBe(0);
        await blocked;
      });
    });

    it("hands an item to a receiver already waiting on the other side", async () => {
      await withPair(async (pair) => {
        const id = fresh();
        const r = pair.b.receive(id);
        await until(async () => (await pair.info(id))?.waitingReceivers === 1, "the receiver waits");
        await pair.a.send(id, "hello");
        await expect(r).resolves.toBe("hello");
      });
    });

    it("resolves a receive that times out with undefined, and the withdrawn receiver takes no later item", async () => {
      await withPair(async (pair) => {
        const id = fresh();
        pair.a.createStream(id);
        await pair.created(pair.a, id);
        const p = pair.b.receive(id, { timeout: 50 });
        await pair.elapse(50);
        await expect(p).resolves.toBeUndefined();
        await pair.a.send(id, "next");
        await expect(pair.b.receive(id, { timeout: 0 })).resolves.toBe("next");
        expect(await pair.info(id)).toMatchObject({ buffered: 0, waitingReceivers: 0 });
      });
    });

    it("rejects a send that waited past its timeout with TimeoutError; its item is not sent", async () => {
      await withPair(async (pair) => {
        const id = fresh();
        pair.a.createStream(id, { highWaterMark: 1 });
        await pair.created(pair.a, id);
        await pair.b.send(id, 1);
        const p = pair.b.send(id, 2, { timeout: 50 });
        const check = expect(p).rejects.toBeInstanceOf(TimeoutError);
        await pair.elapse(50);
        await check;
        await expect(pair.a.receive(id)).resolves.toBe(1);
        await expect(pair.a.receive(id, { timeout: 0 })).resolves.toBeUndefined();
        expect(await pair.info(id)).toMatchObject({ blockedSenders: 0 });
      });
    });

    it("rejects an aborted receive and an aborted blocked send with the signal's reason, losing nothing", async () => {
      await withPair(async (pair) => {
        const { a, b } = pair;
        const id = fresh();
        a.createStream(id, { highWaterMark: 1 });
        await pair.created(a, id);
        const ac = new AbortController();
        const r = b.receive(id, { signal: ac.signal });
        await until(async () => (await pair.info(id))?.waitingReceivers === 1, "the receiver waits");
        ac.abort("stop receiving");
        await expect(r).rejects.toBe("stop receiving");
        expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
        await a.send(id, "kept");
        const ac2 = new AbortController();
        const s = b.send(id, "dropped", { signal: ac2.signal });
        await until(async () => (await pair.info(id))?.blockedSenders === 1, "the send is blocked");
        ac2.abort("stop sending");
        await expect(s).rejects.toBe("stop sending");
        await expect(b.receive(id)).resolves.toBe("kept");
        await expect(a.receive(id, { timeout: 0 })).resolves.toBeUndefined();
        await until(async () => (await pair.info(id))?.blockedSenders === 0, "nothing left");
        await expect(a.receive(id, { signal: AbortSignal.abort("already") })).rejects.toBe("already");
      });
    });

    it("lets many waits share one signal without piling listeners on it", async () => {
      await withPair(async (pair) => {
        const id = fresh();
        const ac = new AbortController();
        const waits = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? pair.a : pair.b).receive(id, { signal: ac.signal }));
        const settled = Promise.allSettled(waits);
        await until(async () => (await pair.info(id))?.waitingReceivers === 50, "50 receivers wait");
        expect(getEventListeners(ac.signal, "abort").length).toBeLessThanOrEqual(1);
        ac.abort("enough");
        for (const r of await settled) expect(r).toEqual({ status: "rejected", reason: "enough" });
        expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
      });
    });

    it("drains what was buffered after closeStream, then ends receives and iterations; later senders get ClosedError", async () => {
      await withPair(async (pair) => {
        const { a, b } = pair;
        const id = fresh();
        for (const n of [1, 2, 3]) await a.send(id, n);
        a.closeStream(id);
        await expect(a.send(id, 4)).rejects.toBeInstanceOf(ClosedError);
        const got: unknown[] = [];
        for await (const n of b.iterate(id)) got.push(n);
        expect(got).toEqual([1, 2, 3]);
        await expect(b.receive(id)).resolves.toBeUndefined();
        await expect(b.send(id, 5)).rejects.toBeInstanceOf(ClosedError);
        await expect(a.send(id, 6)).rejects.toBeInstanceOf(ClosedError);
      });
    });

    it("rejects blocked senders with ClosedError and ends waiting receivers when the other side closes", async () => {
      await withPair(async (pair) => {
        const { a, b } = pair;
        const id = fresh();
        const waiting = b.receive(id);
        await until(async () => (await pair.info(id))?.waitingReceivers === 1, "the receiver waits");
        a.closeStream(id);
        await expect(waiting).resolves.toBeUndefined();
        const id2 = fresh();
        a.createStream(id2, { highWaterMark: 1 });
        await pair.created(a, id2);
        await a.send(id2, "buffered");
        const blocked = a.send(id2, "refused");
        await until(async () => (await pair.info(id2))?.blockedSenders === 1, "the send is blocked");
        b.closeStream(id2);
        await expect(blocked).rejects.toBeInstanceOf(ClosedError);
        const rest: unknown[] = [];
        for await (const item of a.iterate(id2)) rest.push(item);
        expect(rest).toEqual(["buffered"]);
      });
    });

    it("stops an iteration on break without closing the stream or losing the next item", async () => {
      await withPair(async ({ a, b }) => {
        const id = fresh();
        for (const n of [1, 2, 3]) await a.send(id, n);
        for await (const n of b.iterate<number>(id)) {
          expect(n).toBe(1);
          break;
        }
        await expect(b.receive(id)).resolves.toBe(2);
        await expect(a.receive(id)).resolves.toBe(3);
      });
    });

    it("delivers 1,000 items exactly once, in order, to concurrent receivers on both sides", async () => {
      await withPair(async (pair) => {
        const { a, b } = pair;
        const id = fresh();
        a.createStream(id, { highWaterMark: 8 });
        await pair.created(a, id);
        const receivers = [a, b, a, b, a, b].map(async (side) => {
          const got: number[] = [];
          for (;;) {
            const item = await side.receive<number>(id);
            if (item === undefined) return got;
            got.push(item);
          }
        });
        for (let i = 0; i < 1000; i++) await (i % 2 === 0 ? a : b).send(id, i);
        b.closeStream(id);
        const all = await Promise.all(receivers);
        // Each receiver sees its items in the order they were sent.
        for (const got of all) for (let i = 1; i < got.length; i++) expect(got[i]!).toBeGreaterThan(got[i - 1]!);
        const seen = all.flat().sort((x, y) => x - y);
        expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      });
    });

    it("loses and duplicates no item when receivers give up (abort, timeout) while items arrive", async () => {
      await withPair(async (pair) => {
        const { a, b } = pair;
        const id = fresh();
        a.createStream(id, { highWaterMark: 4 });
        await pair.created(a, id);
        const received: unknown[] = [];
        const n = 200;
        for (let i = 0; i < n; i++) {
          // A receive that gives up right as the item arrives: whoever wins, nothing is lost.
          const ac = new AbortController();
          const side = i % 2 === 0 ? b : a;
          const aborted = side.receive(id, { signal: ac.signal }).then(
            (item) => void received.push(item),
            (reason: unknown) => expect(reason).toBe("gave up"),
          );
          const timed = side.receive(id, { timeout: 1 }).then((item) => {
            if (item !== undefined) received.push(item);
          });
          const sent = (i % 3 === 0 ? a : b).send(id, i);
          ac.abort("gave up");
          await pair.elapse(1);
          await Promise.all([aborted, timed, sent]);
        }
        a.closeStream(id);
        for await (const item of b.iterate(id)) received.push(item);
        expect((received as number[]).sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
      });
    });
  });
}
