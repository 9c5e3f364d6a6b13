import { describe, expect, it } from "vitest";
import { ClosedError, TimeoutError, ValidationError } from "../../src/errors.js";
import type { Message } from "../../src/channels/message.js";
import type { PubSubChannel } from "../../src/channels/pub-sub.js";
import type { ContractEnv } from "./request-reply-contract.js";

/** Two handles on one pub-sub channel. */
export interface PubSubEnv extends ContractEnv {
  readonly a: PubSubChannel;
  readonly b: PubSubChannel;
  /**
   * Whether `publish` on one handle counts the other handle's subscribers in `delivered` /
   * `failed`: true in-process (one channel); false across processes, where a publication's
   * counts are its own process's subscribers (see docs/wire.md, "Pub-sub").
   */
  readonly countsOtherSide: boolean;
}

/**
 * The pub-sub contract of API.md against two handles of one channel. Where a test must show
 * that something was *not* delivered, it publishes a marker after it and waits for the marker:
 * a subscriber sees one publisher's messages in order, so once the marker is there, anything
 * published before it has arrived or never will.
 */
export function pubSubContract(name: string, factory: () => Promise<PubSubEnv>): void {
  async function withEnv(fn: (env: PubSubEnv) => Promise<void>): Promise<void> {
    const env = await factory();
    try {
      await fn(env);
    } finally {
      await env.close();
    }
  }

  /** Publishes a marker from `from` and waits until `to` has it. */
  async function flushed(env: PubSubEnv, from: PubSubChannel, to: PubSubChannel): Promise<void> {
    let seen = false;
    const off = to.subscribe("zz.marker", () => {
      seen = true;
    });
    try {
      await env.propagated();
      await env.run(from.publish("marker", "zz.marker", null));
      await env.until(() => seen);
    } finally {
      off();
    }
  }

  describe(`pub-sub contract: ${name}`, () => {
    it("delivers across the handles with * matching one token and > one or more trailing tokens", () =>
      withEnv(async (env) => {
        const got: Record<string, string[]> = { star: [], tail: [], exact: [] };
        env.b.subscribe("orders.*.created", (m) => void got["star"]!.push(m.topic!));
        env.b.subscribe("orders.>", (m) => void got["tail"]!.push(m.topic!));
        env.b.subscribe("orders.eu", (m) => void got["exact"]!.push(m.topic!));
        await env.propagated();
        for (const topic of ["orders.eu.created", "orders.eu.x.created", "orders.eu", "orders", "other.eu.created"]) {
          await env.run(env.a.publish("shop", topic, { topic }));
        }
        await flushed(env, env.a, env.b);
        expect(got).toEqual({
          star: ["orders.eu.created"],
          tail: ["orders.eu.created", "orders.eu.x.created", "orders.eu"],
          exact: ["orders.eu"],
        });
      }));

    it("passes sender, topic, payload and pattern, in publication order", () =>
      withEnv(async (env) => {
        const got: Message[] = [];
        env.b.subscribe("seq.>", (m) => void got.push(m));
        await env.propagated();
        for (let i = 0; i < 20; i++) await env.run(env.a.publish("counter", `seq.${i % 3}`, { i }));
        await env.until(() => got.length === 20);
        expect(got.map((m) => (m.payload as { i: number }).i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(got[4]).toMatchObject({ sender: "counter", topic: "seq.1", pattern: "publish_subscribe", payload: { i: 4 } });
        expect(new Set(got.map((m) => m.id)).size).toBe(20);
      }));

    it("counts its own side's handlers: delivered when they complete (awaiting promises), failed when they throw", () =>
      withEnv(async (env) => {
        const order: string[] = [];
        env.a.subscribe("job.done", () => void order.push("sync"));
        env.a.subscribe("job.done", async () => {
          await Promise.resolve();
          order.push("async");
        });
        env.a.subscribe("job.done", () => {
          throw new Error("subscriber broke");
        });
        env.a.subscribe("job.done", () => Promise.reject(new Error("subscriber rejected")));
        await env.propagated();
        const result = await env.run(env.a.publish("me", "job.done", 1));
        expect(result).toEqual({ delivered: 2, failed: 2 });
        expect(order).toEqual(["sync", "async"]);
        // Reports may travel as events (error_occurred): wait for them.
        const failures = (): string[] => env.reports("a").filter((r) => r.topic === "job.done").map((r) => r.error);
        await env.until(() => failures().length >= 2);
        const errors = failures();
        expect(errors.sort()).toEqual(["subscriber broke", "subscriber rejected"]);
        expect(await env.run(env.a.publish("me", "nobody.listens", 1))).toEqual({ delivered: 0, failed: 0 });
      }));

    it("on the other side, a throwing subscriber does not stop the others and is reported there; the counts are as documented", () =>
      withEnv(async (env) => {
        let ok = 0;
        env.b.subscribe("alarm.*", () => void ok++);
        env.b.subscribe("alarm.*", () => {
          throw new Error("pager down");
        });
        env.b.subscribe("alarm.*", () => void ok++);
        await env.propagated();
        const result = await env.run(env.a.publish("sensor", "alarm.fire", { level: 3 }));
        await env.until(() => ok === 2 && env.reports("b").some((r) => r.error === "pager down"));
        expect(result).toEqual(env.countsOtherSide ? { delivered: 2, failed: 1 } : { delivered: 0, failed: 0 });
        expect(env.reports("b").find((r) => r.error === "pager down")?.topic).toBe("alarm.fire");
      }));

    it("unsubscribes: the returned function removes exactly one subscription, unsubscribe(topic, handler) all of them", () =>
      withEnv(async (env) => {
        const got: string[] = [];
        const h = (m: Message): void => void got.push(`h:${String(m.payload)}`);
        const other = (m: Message): void => void got.push(`o:${String(m.payload)}`);
        const off1 = env.b.subscribe("news.*", h);
        env.b.subscribe("news.*", h);
        env.b.subscribe("news.*", other);
        await env.propagated();
        off1();
        off1();
        await env.run(env.a.publish("p", "news.a", 1));
        await flushed(env, env.a, env.b);
        expect(got.sort()).toEqual(["h:1", "o:1"]);
        env.b.unsubscribe("news.*", h);
        await env.propagated();
        await env.run(env.a.publish("p", "news.a", 2));
        await flushed(env, env.a, env.b);
        expect(got.sort()).toEqual(["h:1", "o:1", "o:2"]);
      }));

    it("once resolves with the next matching message, times out with TimeoutError, and leaves no subscription", () =>
      withEnv(async (env) => {
        const before = env.b.subscriptions;
        const next = env.b.once<{ id: number }>("task.*.done", { timeout: 5_000 });
        await env.propagated();
        await env.run(env.a.publish("w", "task.7.done", { id: 7 }));
        const m = await env.run(next);
        expect(m).toMatchObject({ topic: "task.7.done", sender: "w", payload: { id: 7 } });
        expect(env.b.subscriptions).toBe(before);
        const started = env.now();
        const err: unknown = await env.run(env.b.once("never.*", { timeout: 250 })).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TimeoutError);
        expect(env.now() - started).toBeGreaterThanOrEqual(250);
        expect(env.now() - started).toBeLessThanOrEqual(250 + env.lateness);
        expect(env.b.subscriptions).toBe(before);
      }));

    it("once rejects with the signal's reason unchanged and removes its subscription", () =>
      withEnv(async (env) => {
        const before = env.b.subscriptions;
        const ac = new AbortController();
        const reason = new Error("stop waiting");
        const p = env.b.once("late.*", { signal: ac.signal }).catch((e: unknown) => e);
        expect(env.b.subscriptions).toBe(before + 1);
        ac.abort(reason);
        expect(await env.run(p)).toBe(reason);
        expect(env.b.subscriptions).toBe(before);
        await expect(env.b.once("late.*", { signal: ac.signal })).rejects.toBe(reason);
      }));

    it("iterate yields matching messages in order; an aborted signal rejects next() with its reason and unsubscribes", () =>
      withEnv(async (env) => {
        const before = env.b.subscriptions;
        const ac = new AbortController();
        const it = env.b.iterate<number>("metrics.>", { signal: ac.signal });
        await env.propagated();
        for (let i = 1; i <= 3; i++) await env.run(env.a.publish("m", `metrics.cpu.${i}`, i));
        const got: number[] = [];
        for (let i = 0; i < 3; i++) {
          const r = await env.run(it.next());
          if (r.done === true) break;
          got.push(r.value.payload);
        }
        expect(got).toEqual([1, 2, 3]);
        expect(it.dropped).toBe(0);
        const reason = new Error("enough");
        const pending = it.next().catch((e: unknown) => e);
        ac.abort(reason);
        expect(await env.run(pending)).toBe(reason);
        expect(env.b.subscriptions).toBe(before);
      }));

    it("rejects bad topics and handlers with ValidationError, and use after close with ClosedError", () =>
      withEnv(async (env) => {
        await expect(env.a.publish("p", "has.*.wildcard", 1)).rejects.toBeInstanceOf(ValidationError);
        await expect(env.a.publish("p", "empty..token", 1)).rejects.toBeInstanceOf(ValidationError);
        await expect(env.a.publish("", "t", 1)).rejects.toBeInstanceOf(ValidationError);
        expect(() => env.b.subscribe("a.>.b", () => undefined)).toThrow(ValidationError);
        expect(() => env.b.subscribe("t", 1 as never)).toThrow(ValidationError);
        await expect(env.b.once("", { timeout: 10 })).rejects.toBeInstanceOf(ValidationError);
        env.b.close();
        await expect(env.b.publish("p", "t", 1)).rejects.toBeInstanceOf(ClosedError);
        expect(() => env.b.subscribe("t", () => undefined)).toThrow(ClosedError);
      }));

    it("a payload that is not JSON data is refused where payloads are checked", () =>
      withEnv(async (env) => {
        let got: unknown;
        env.b.subscribe("raw", (m) => void (got = m.payload));
        await env.propagated();
        const payload = { when: 1n };
        if (env.checksPayloads) {
          await expect(env.run(env.a.publish("p", "raw", payload))).rejects.toBeInstanceOf(ValidationError);
          await flushed(env, env.a, env.b);
          expect(got).toBeUndefined();
        } else {
          await env.run(env.a.publish("p", "raw", payload));
          expect(got).toBe(payload);
        }
      }));
  });
}
