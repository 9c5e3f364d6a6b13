import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PubSubChannel } from "../../src/channels/pub-sub.js";
import { StreamingChannel } from "../../src/channels/streaming.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import type { DeliveryKind, Scheduler } from "../../src/runtime/scheduler.js";

type Item = { from: number; seq: number };

/** Every covey delivery becomes a fast-check scheduled task, so fast-check picks the order. */
function fcScheduler(s: fc.Scheduler): Scheduler {
  let pending = 0;
  return {
    deliver(kind: DeliveryKind, fn: () => void): void {
      pending++;
      void s.schedule(Promise.resolve(), kind).then(() => {
        pending--;
        fn();
      });
    },
    get pending() {
      return pending;
    },
  };
}

/** No item lost or duplicated: `received` holds each produced item once. */
function expectExactlyOnce(received: readonly Item[], counts: readonly number[]): void {
  const expected = counts.flatMap((n, from) => Array.from({ length: n }, (_, seq) => `${from}:${seq}`)).sort();
  expect(received.map((i) => `${i.from}:${i.seq}`).sort()).toEqual(expected);
}

/** Each producer's items appear in the order it produced them. */
function expectProducerOrder(received: readonly Item[], counts: readonly number[]): void {
  counts.forEach((_, from) => {
    const seqs = received.filter((i) => i.from === from).map((i) => i.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });
}

describe("PubSubChannel#publish under random interleavings", () => {
  it("delivers every publication exactly once to every subscriber, in each publisher's order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.record({ pattern: fc.constantFrom("t.x", "t.*", "t.>", ">"), async: fc.boolean() }), { minLength: 1, maxLength: 3 }),
        async (s, counts, subscribers) => {
          const ps = new PubSubChannel({ runtime: createRuntime({ scheduler: fcScheduler(s) }) });
          const received = subscribers.map(() => [] as Item[]);
          subscribers.forEach(({ pattern, async }, i) => {
            ps.subscribe(pattern, async
              ? async (m) => {
                  received[i]!.push(m.payload as Item);
                  await s.schedule(Promise.resolve(), `handler ${i}`);
                }
              : (m) => void received[i]!.push(m.payload as Item));
          });
          const results: { delivered: number; failed: number }[] = [];
          let finished = 0;
          counts.forEach((n, from) => {
            void (async () => {
              for (let seq = 0; seq < n; seq++) {
                await s.schedule(Promise.resolve(), `publisher ${from}`);
                results.push(await ps.publish(`p${from}`, "t.x", { from, seq }));
              }
              finished++;
            })();
          });
          await s.waitIdle();
          expect(finished).toBe(counts.length);
          for (const r of results) expect(r).toEqual({ delivered: subscribers.length, failed: 0 });
          for (const got of received) {
            expectExactlyOnce(got, counts);
            expectProducerOrder(got, counts);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("StreamingChannel under random interleavings", () => {
  it("a consumer gets every item exactly once, in each sender's order, whatever the backpressure", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.record({ n: fc.nat({ max: 6 }), pipelined: fc.boolean() }), { minLength: 1, maxLength: 3 }),
        async (s, highWaterMark, senders) => {
          const counts = senders.map((x) => x.n);
          const streams = new StreamingChannel({ runtime: createRuntime({ scheduler: fcScheduler(s) }) });
          streams.createStream("s", { highWaterMark });
          let sendersDone = 0;
          senders.forEach(({ n, pipelined }, from) => {
            void (async () => {
              await s.schedule(Promise.resolve(), `sender ${from}`);
              if (pipelined) {
                // Fires every send without waiting: they queue behind each other (FIFO).
                await Promise.all(Array.from({ length: n }, (_, seq) => streams.send("s", { from, seq })));
              } else {
                for (let seq = 0; seq < n; seq++) {
                  await s.schedule(Promise.resolve(), `sender ${from}`);
                  await streams.send("s", { from, seq });
                }
              }
              if (++sendersDone === senders.length) streams.closeStream("s");
            })();
          });
          const received: Item[] = [];
          let ended = false;
          void (async () => {
            for await (const item of streams.iterate<Item>("s")) {
              received.push(item);
              await s.schedule(Promise.resolve(), "consumer");
            }
            ended = true;
          })();
          await s.waitIdle();
          expect(ended).toBe(true);
          expectExactlyOnce(received, counts);
          expectProducerOrder(received, counts);
          // Closed and drained: nothing of the stream is left, no data and no waiter.
          expect(streams.info("s")).toBeUndefined();
          expect([...streams.streamIds()]).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("competing receivers split the items: none lost, none duplicated, each in sender order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.nat({ max: 6 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 2, max: 3 }),
        async (s, highWaterMark, counts, receivers) => {
          const streams = new StreamingChannel({ runtime: createRuntime({ scheduler: fcScheduler(s) }) });
          streams.createStream("s", { highWaterMark });
          let sendersDone = 0;
          counts.forEach((n, from) => {
            void (async () => {
              for (let seq = 0; seq < n; seq++) {
                await s.schedule(Promise.resolve(), `sender ${from}`);
                await streams.send("s", { from, seq });
              }
              if (++sendersDone === counts.length) streams.closeStream("s");
            })();
          });
          const got = Array.from({ length: receivers }, () => [] as Item[]);
          let ended = 0;
          got.forEach((mine) => {
            void (async () => {
              for (;;) {
                const item = await streams.receive<Item>("s");
                if (item === undefined) break;
                mine.push(item);
                await s.schedule(Promise.resolve(), "receiver");
              }
              ended++;
            })();
          });
          await s.waitIdle();
          expect(ended).toBe(receivers);
          expectExactlyOnce(got.flat(), counts);
          for (const mine of got) expectProducerOrder(mine, counts);
        },
      ),
      { numRuns: 150 },
    );
  });
});
