/**
 * Channel benchmarks against their baselines, measured in one process, alternating, after
 * a warm-up; prints median times and ratios. Run: `npx tsx test/channels/bench.ts`.
 */
import Emittery from "emittery";
import { EventEmitter } from "eventemitter3";
import { PubSubChannel } from "../../src/channels/pub-sub.js";
import { RequestReplyChannel } from "../../src/channels/request-reply.js";
import { IdGenerator } from "../../src/runtime/ids.js";

const ROUNDS = Number(process.env["ROUNDS"] ?? 15);
/** `ONLY=request` or `ONLY=publish` runs one group. */
const ONLY = process.env["ONLY"];

async function time(n: number, body: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await body();
  return Number(process.hrtime.bigint() - start) / n;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** The baseline: a Map of stored resolvers and one setTimeout per request. */
function emulation(): (payload: unknown) => Promise<unknown> {
  type Entry = { resolve: (v: unknown) => void; reject: (e: unknown) => void; timer: ReturnType<typeof setTimeout> };
  const pending = new Map<number, Entry>();
  let seq = 0;
  const handler = async (p: unknown): Promise<unknown> => p;
  return (payload) => {
    const id = ++seq;
    const promise = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error("timeout"));
      }, 30_000);
      timer.unref();
      pending.set(id, { resolve, reject, timer });
    });
    void handler(payload).then((v) => {
      const e = pending.get(id);
      if (e === undefined) return;
      clearTimeout(e.timer);
      pending.delete(id);
      e.resolve(v);
    });
    return promise;
  };
}

type Case = () => Promise<void>;

/** Runs every case each round (alternating), drops 3 warm-up rounds, prints medians. `n` per case: [n, body]. */
async function compare(title: string, n: number, cases: Record<string, Case | [number, Case]>, base: string): Promise<void> {
  const samples: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS + 3; r++) {
    for (const [name, c] of Object.entries(cases)) {
      const t = Array.isArray(c) ? await time(c[0], c[1]) : await time(n, c);
      if (r >= 3) (samples[name] ??= []).push(t);
    }
  }
  console.log(`\n${title}`);
  const b = samples[base]!;
  for (const [name, xs] of Object.entries(samples)) {
    // The ratio is taken per round (case and baseline ran back to back), then its median:
    // steadier than a ratio of medians when the machine's load drifts.
    const ratios = xs.map((x, i) => x / b[i]!);
    console.log(`  ${name.padEnd(36)} ${median(xs).toFixed(0).padStart(6)} ns   ${median(ratios).toFixed(2)}x ${base}`);
  }
}

// Request-reply: one at a time, and 100 in flight.
if (ONLY === undefined || ONLY === "request") {
  const N = 50_000;
  const rr = new RequestReplyChannel();
  rr.registerHandler("w", async (m) => m.payload);
  const rrSync = new RequestReplyChannel();
  rrSync.registerHandler("w", (m) => m.payload);
  const emu = emulation();
  const seqLoop = (f: () => Promise<unknown>) => async () => {
    for (let i = 0; i < N; i++) await f();
  };
  const batchLoop = (f: () => Promise<unknown>) => async () => {
    const ps: Promise<unknown>[] = new Array<Promise<unknown>>(100);
    for (let i = 0; i < N / 100; i++) {
      for (let j = 0; j < 100; j++) ps[j] = f();
      await Promise.all(ps);
    }
  };
  await compare(
    "request round trip (async handler, default 30 s timeout), per request",
    N,
    {
      emulation: seqLoop(() => emu(1)),
      "RequestReplyChannel async handler": seqLoop(() => rr.request("a", "w", 1)),
      "RequestReplyChannel sync handler": seqLoop(() => rrSync.request("a", "w", 1)),
      "emulation, 100 in flight": batchLoop(() => emu(1)),
      "RequestReplyChannel, 100 in flight": batchLoop(() => rr.request("a", "w", 1)),
    },
    "emulation",
  );
}

// Pub-sub: 10 subscribers reached through one wildcard subscription among 1000 topics.
if (ONLY === undefined || ONLY === "publish") {
  const N = 200_000;
  const ps = new PubSubChannel();
  let sink = 0;
  const handlers = Array.from({ length: 10 }, () => (m: { payload: unknown }) => void (sink += m.payload as number));
  for (let i = 0; i < 1000; i++) ps.subscribe(`topic.${i}.event`, () => undefined);
  for (const h of handlers) ps.subscribe("topic.500.*", h);
  const ee = new EventEmitter();
  for (const h of handlers) ee.on("topic.500.event", (payload: number) => h({ payload }));
  const em = new Emittery();
  for (const h of handlers) em.on("topic.500.event", (payload) => h({ payload }));
  await compare(
    "publish to 10 subscribers, per publish",
    N,
    {
      "eventemitter3 emit": async () => {
        for (let i = 0; i < N; i++) ee.emit("topic.500.event", 1);
      },
      "PubSubChannel publish (awaited)": async () => {
        for (let i = 0; i < N; i++) await ps.publish("me", "topic.500.event", 1);
      },
      // What any awaited publish with the Message API must do: a clock read, a per-system
      // id, a message object, the 10 calls, a result and an awaited promise.
      "floor: awaited id+now+10 calls": async () => {
        const ids = new IdGenerator();
        const floor = async (topic: string, payload: unknown) => {
          const m = { id: ids.next("msg"), sender: "me", pattern: "publish_subscribe", topic, payload, timestamp: Date.now() };
          for (const h of handlers) h(m);
          return { delivered: 10, failed: 0 };
        };
        for (let i = 0; i < N; i++) await floor("topic.500.event", 1);
      },
      "PubSubChannel publish (not awaited)": async () => {
        for (let i = 0; i < N; i++) void ps.publish("me", "topic.500.event", 1);
      },
      // emittery is far slower: a tenth of the iterations.
      "emittery emit (awaited)": [
        N / 10,
        async () => {
          for (let i = 0; i < N / 10; i++) await em.emit("topic.500.event", 1);
        },
      ],
    },
    "eventemitter3 emit",
  );
  if (sink === -1) console.log(sink);
}
