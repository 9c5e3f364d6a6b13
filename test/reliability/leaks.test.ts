import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { createSystem, defineAgent, type MultiAgentSystem } from "../../src/agents/index.js";
import { ClosedError } from "../../src/errors.js";
import { report } from "./fc-runtime.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heavy = process.env["COVEY_HEAVY"] === "1";

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

/** Active handles and requests by type, e.g. { Timeout: 1 }. */
function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

/** One full life: create, use every area (with waits that carry timeouts), shut down. */
async function cycle(i: number): Promise<void> {
  const system = createSystem();
  await system.addAgent(defineAgent({ name: "echo", handler: (n: number) => n + 1 }));
  await system.addAgent(`worker-${i}`, ["general"], { work: () => i });
  if ((await system.call<number>("echo", i, { timeout: 5000 })) !== i + 1) throw new Error("wrong reply");
  await system.kv.set("k", { i });
  await system.kv.update<{ i: number }>("k", (d) => void (d!.i += 1));
  system.communication.pubSub.subscribe("t.>", () => undefined);
  await system.communication.pubSub.publish("me", "t.x", { i });
  const lock = system.sync.getLock("l");
  await lock.acquire("a", { ttl: 10_000 });
  const waiting = lock.acquire("b", { timeout: 10_000, signal: new AbortController().signal });
  await system.submitTask({ id: `t${i}`, type: "general" });
  const pendingCall = system.communication.requestReply.request("me", "echo", 1, { timeout: 20_000 });
  await system.events.emit("me", "custom", { i });
  await system.shutdown();
  // A plain check: vitest's expect keeps per-assertion state that would show up as a leak here.
  const outcome = await waiting.then(
    () => "granted",
    (err: unknown) => (err instanceof ClosedError ? "closed" : err),
  );
  if (outcome !== "closed") throw new Error(`a waiting acquire ended with ${String(outcome)} at shutdown, not ClosedError`);
  await pendingCall.catch(() => undefined);
}

describe("MultiAgentSystem lifecycle (leaks)", () => {
  it(`${heavy ? "10,000" : "2,000"} create/use/shutdown cycles leave the heap and the active handles where they were`, async () => {
    const cycles = heavy ? 10_000 : 2_000;
    const baseResources = resources();
    for (let i = 0; i < 200; i++) await cycle(i); // warm-up: JIT, lazily created module state
    const base = await settledHeap();
    const t0 = performance.now();
    for (let i = 0; i < cycles; i++) await cycle(i);
    const ms = performance.now() - t0;
    const end = await settledHeap();
    const delta = end - base;
    // Nothing covey started may still be active (handles the runner owns may come and go).
    const left = resources();
    for (const [type, n] of Object.entries(left)) expect(n, `active ${type}`).toBeLessThanOrEqual(baseResources[type] ?? 0);
    expect(delta).toBeLessThan(1024 * 1024);
    await report("leaks-cycles", { cycles, heapDeltaBytes: delta, ms: Math.round(ms), resourcesBack: "yes" });
  });
});

describe("MultiAgentSystem soak", () => {
  it(`${heavy ? "1M" : "200k"} calls through one system keep memory bounded`, async () => {
    const total = heavy ? 1_000_000 : 200_000;
    const system: MultiAgentSystem = createSystem();
    const spec = defineAgent({ name: "echo", handler: (n: number) => n });
    for (let i = 0; i < 4; i++) await system.addAgent(spec);
    const batch = new Array<Promise<number>>(100);
    const run = async (n: number): Promise<void> => {
      for (let done = 0; done < n; done += batch.length) {
        for (let j = 0; j < batch.length; j++) batch[j] = system.call<number>("echo", j);
        await Promise.all(batch);
      }
    };
    await run(total / 10);
    const tenth = await settledHeap();
    await run(total - total / 10);
    const end = await settledHeap();
    await system.idle();
    await system.shutdown();
    const growth = end - tenth;
    expect(growth).toBeLessThan(2 * 1024 * 1024);
    await report("soak-calls", { calls: total, heapGrowthAfterFirstTenthBytes: growth, heapAtTenthMB: +(tenth / 1048576).toFixed(1) });
  });
});
