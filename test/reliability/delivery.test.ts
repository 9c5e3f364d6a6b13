import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PubSubChannel, StreamingChannel } from "../../src/channels/index.js";
import { fcRuntime, report, runs } from "./fc-runtime.js";

interface Item {
  from: number;
  seq: number;
}

/** Lost, duplicated and out-of-order items of one receiver, against what was sent to it. */
function audit(received: readonly Item[], sent: readonly Item[]): { lost: number; duplicated: number; reordered: number } {
  const key = (i: Item): string => `${i.from}:${i.seq}`;
  const counts = new Map<string, number>();
  for (const r of received) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
  let lost = 0;
  let duplicated = 0;
  for (const s of sent) {
    const n = counts.get(key(s)) ?? 0;
    if (n === 0) lost++;
    if (n > 1) duplicated += n - 1;
  }
  let reordered = 0;
  const last = new Map<number, number>();
  for (const r of received) {
    if ((last.get(r.from) ?? -1) > r.seq) reordered++;
    last.set(r.from, r.seq);
  }
  return { lost, duplicated, reordered };
}

const publishersArb = fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 4 });

describe("PubSubChannel (random interleavings)", () => {
  it("every subscriber gets every matching publication once, each publisher's in order", async () => {
    let histories = 0;
    let publications = 0;
    let deliveries = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), publishersArb, fc.boolean(), async (s, counts, throwing) => {
        const fr = fcRuntime(s);
        let reported = 0;
        const ps = new PubSubChannel({ runtime: fr.runtime, onError: () => void reported++ });
        const subscriptions = ["jobs.eu.done", "jobs.*.done", "jobs.>", ">"];
        const inboxes = subscriptions.map(() => [] as Item[]);
        subscriptions.forEach((topic, i) => {
          ps.subscribe(topic, async (m) => {
            inboxes[i]!.push(m.payload as Item);
            // Some handlers take a scheduling step, so handlers of many publications overlap.
            if (i % 2 === 1) await s.schedule(Promise.resolve(), `handler ${topic}`);
          });
        });
        // A failing subscriber must not stop the others.
        if (throwing) ps.subscribe("jobs.>", () => {
          throw new Error("subscriber failure");
        });
        const sent: Item[] = [];
        const publisher = async (from: number, n: number): Promise<void> => {
          for (let seq = 0; seq < n; seq++) {
            await s.schedule(Promise.resolve(), `p${from} publish ${seq}`);
            sent.push({ from, seq });
            const r = await ps.publish(`p${from}`, "jobs.eu.done", { from, seq });
            expect(r.delivered).toBe(subscriptions.length);
            expect(r.failed).toBe(throwing ? 1 : 0);
          }
        };
        await s.waitFor(Promise.all(counts.map((n, from) => publisher(from, n))));
        await s.waitAll();
        expect(reported).toBe(throwing ? sent.length : 0);
        for (const inbox of inboxes) {
          expect(audit(inbox, sent)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
          deliveries += inbox.length;
        }
        histories++;
        publications += sent.length;
      }),
      { numRuns: runs(200, 3000) },
    );
    await report("delivery-pubsub", { histories, publications, deliveries, lost: 0, duplicated: 0, reordered: 0 });
  });

  it("pipelined publications (not awaited one by one) keep each publisher's order", async () => {
    let histories = 0;
    let reorderedRuns = 0;
    let example: string | undefined;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), publishersArb, async (s, counts) => {
        const fr = fcRuntime(s);
        const ps = new PubSubChannel({ runtime: fr.runtime });
        const inbox: Item[] = [];
        ps.subscribe("jobs.>", (m) => void inbox.push(m.payload as Item));
        const sent: Item[] = [];
        const publisher = async (from: number, n: number): Promise<void> => {
          await s.schedule(Promise.resolve(), `p${from} start`);
          const pending: Promise<unknown>[] = [];
          for (let seq = 0; seq < n; seq++) {
            sent.push({ from, seq });
            pending.push(ps.publish(`p${from}`, "jobs.eu.done", { from, seq }));
          }
          await Promise.all(pending);
        };
        await s.waitFor(Promise.all(counts.map((n, from) => publisher(from, n))));
        await s.waitAll();
        const a = audit(inbox, sent);
        expect(a.lost).toBe(0);
        expect(a.duplicated).toBe(0);
        if (a.reordered > 0) {
          reorderedRuns++;
          example ??= inbox.map((i) => `${i.from}:${i.seq}`).join(" ");
        }
        histories++;
      }),
      { numRuns: runs(200, 3000) },
    );
    await report("delivery-pubsub-pipelined", { histories, reorderedRuns, example: example ?? "" });
    expect(reorderedRuns, `pipelined publications were reordered, e.g. ${example}`).toBe(0);
  });
});

describe("StreamingChannel (random interleavings)", () => {
  it("a receiver gets every item once, each sender's in order, then the end", async () => {
    let histories = 0;
    let items = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), publishersArb, fc.integer({ min: 1, max: 4 }), fc.boolean(), async (s, counts, hwm, iterate) => {
        const fr = fcRuntime(s);
        const streams = new StreamingChannel({ runtime: fr.runtime });
        streams.createStream("jobs", { highWaterMark: hwm });
        const sent: Item[] = [];
        const sender = async (from: number, n: number): Promise<void> => {
          for (let seq = 0; seq < n; seq++) {
            await s.schedule(Promise.resolve(), `s${from} send ${seq}`);
            sent.push({ from, seq });
            await streams.send("jobs", { from, seq });
          }
        };
        const received: Item[] = [];
        const receiver = async (): Promise<void> => {
          if (iterate) {
            for await (const item of streams.iterate<Item>("jobs")) received.push(item);
          } else {
            for (;;) {
              await s.schedule(Promise.resolve(), "receive");
              const item = await streams.receive<Item>("jobs");
              if (item === undefined) break;
              received.push(item);
            }
          }
        };
        const done = receiver();
        await s.waitFor(Promise.all(counts.map((n, from) => sender(from, n))));
        streams.closeStream("jobs");
        await s.waitFor(done);
        await s.waitAll();
        expect(audit(received, sent)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
        expect(received.length).toBe(sent.length);
        expect(fr.clock.pending).toBe(0);
        histories++;
        items += received.length;
      }),
      { numRuns: runs(200, 3000) },
    );
    await report("delivery-streams", { histories, items, lost: 0, duplicated: 0, reordered: 0 });
  });
});
