/**
 * The NATS backend against the plain nats.js client and against in-process covey, in one run
 * on one nats-server (started here on a free loopback port, JetStream in a temp dir).
 *
 *   npx tsx bench/nats.ts            # full run (about a minute)
 *   npx tsx bench/nats.ts --quick    # smoke run
 *
 * Each comparison alternates its cases round by round after a warm-up, all sequential (one
 * operation in flight), and reports the median per-operation time over the rounds; the ratio
 * is what to read, the machine being shared. Needs nats-server on the PATH (or NATS_SERVER).
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { StorageType } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { createSystem, defineAgent, type MultiAgentSystem } from "../src/index.js";
import { natsBackend } from "../src/backends/nats/index.js";
import { startNatsServer } from "../test/backends/nats/server.js";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 9;
const OPS = quick ? 100 : 400;
const WARMUP = quick ? 50 : 200;

interface Case {
  name: string;
  op: () => Promise<unknown>;
}

async function timeOps(op: () => Promise<unknown>, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await op();
  return Number(process.hrtime.bigint() - t0) / n / 1000; // µs per op
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median µs per operation of each case, measured in alternating rounds after a warm-up. */
async function compare(cases: Case[]): Promise<number[]> {
  for (const c of cases) await timeOps(c.op, WARMUP);
  const samples: number[][] = cases.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < cases.length; i++) samples[i]!.push(await timeOps(cases[i]!.op, OPS));
  }
  return samples.map(median);
}

const lines: string[] = [];
function report(title: string, cases: Case[], us: number[], target?: { ratio: number; max: number }): void {
  console.log(`\n${title}`);
  for (let i = 0; i < cases.length; i++) console.log(`  ${cases[i]!.name.padEnd(44)} ${us[i]!.toFixed(1).padStart(8)} µs/op  ${(1e6 / us[i]!).toFixed(0).padStart(8)} ops/s`);
  if (target !== undefined) {
    const met = target.ratio <= target.max;
    console.log(`  ratio ${target.ratio.toFixed(2)}x (target <= ${target.max}x): ${met ? "met" : "MISSED"}`);
    lines.push(`| ${title} | ${us.map((u) => `${u.toFixed(0)} µs`).join(" vs ")} | ${target.ratio.toFixed(2)}x | <= ${target.max}x | ${met ? "met" : "missed"} |`);
  }
}

const server = await startNatsServer();
const url = server.url;
const opened: NatsConnection[] = [];
const systems: MultiAgentSystem[] = [];
try {
  const open = async (): Promise<NatsConnection> => {
    const nc = await connect({ servers: url });
    opened.push(nc);
    return nc;
  };
  const system = async (mesh: string): Promise<MultiAgentSystem> => {
    const s = createSystem({ backend: await natsBackend({ servers: url, mesh, storage: "memory" }) });
    systems.push(s);
    return s;
  };
  const echo = defineAgent({ name: "echo", handler: (x: unknown) => x });

  // 1. covey call over NATS vs a raw nats.js request/reply loop (responder and caller on two connections each).
  const provider = await system("bench");
  const consumer = await system("bench");
  await provider.addAgent(echo);
  const rawResponder = await open();
  const rawCaller = await open();
  rawResponder.subscribe("raw.echo", { queue: "q", callback: (_e, m) => {
    m.respond(JSON.stringify(JSON.parse(new TextDecoder().decode(m.data))));
  } });
  await rawResponder.flush();
  const payload = { n: 1, text: "hello" };
  const callCases: Case[] = [
    { name: "covey call over NATS (system.call)", op: () => consumer.call("echo", payload) },
    { name: "raw nats.js request/reply + JSON", op: async () => JSON.parse(new TextDecoder().decode((await rawCaller.request("raw.echo", JSON.stringify(payload), { timeout: 5000 })).data)) as unknown },
  ];
  const callUs = await compare(callCases);
  report("call: covey over NATS vs raw nats.js request/reply", callCases, callUs, { ratio: callUs[0]! / callUs[1]!, max: 1.2 });

  // 2. kv.update over NATS vs a raw revision-checked update loop (get + update(revision), retry on 10071).
  // A system of its own: one process follows its mesh's state bucket once (here the two systems
  // above would both follow "bench", twice the feed work of a real process).
  const kvSystem = await system("benchkv");
  // The same with followState: false (no consumer until the first watch, keys() or history()).
  const lazySystem = createSystem({ backend: await natsBackend({ servers: url, mesh: "benchlazy", storage: "memory", followState: false }) });
  systems.push(lazySystem);
  // Same settings as the covey bucket: memory storage, 16 revisions per key.
  const kv = await new Kvm(await open()).create("rawbench", { storage: StorageType.Memory, history: 16 });
  await kv.put("counter", "0");
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const rawUpdate = async (): Promise<void> => {
    for (;;) {
      const e = (await kv.get("counter"))!;
      try {
        await kv.update("counter", enc.encode(String(Number(dec.decode(e.value)) + 1)), e.revision);
        return;
      } catch {
        // a conflict: read again
      }
    }
  };
  const kvCases: Case[] = [
    { name: "covey kv.update over NATS", op: () => kvSystem.kv.update<number>("counter", (n) => (n ?? 0) + 1) },
    { name: "raw nats.js get + update(revision) loop", op: rawUpdate },
    { name: "covey kv.update over NATS, followState: false", op: () => lazySystem.kv.update<number>("counter", (n) => (n ?? 0) + 1) },
  ];
  const kvUs = await compare(kvCases);
  report("kv.update: covey over NATS vs raw revision-checked loop", kvCases, kvUs, { ratio: kvUs[0]! / kvUs[1]!, max: 1.2 });
  report("kv.update (followState: false) vs raw revision-checked loop", [kvCases[2]!, kvCases[1]!], [kvUs[2]!, kvUs[1]!], { ratio: kvUs[2]! / kvUs[1]!, max: 1.2 });

  // 3. What leaving one process costs: in-process vs NATS, same operations.
  const local = createSystem();
  systems.push(local);
  await local.addAgent(echo);
  let delivered: (() => void) | undefined;
  local.communication.pubSub.subscribe("bench.topic", () => delivered?.());
  provider.communication.pubSub.subscribe("bench.topic", () => delivered?.());
  await provider.kv.set("sync", 1); // the subscription is in place at the server
  const publishTo = (s: MultiAgentSystem) => async (): Promise<void> => {
    const got = new Promise<void>((resolve) => (delivered = resolve));
    await s.communication.pubSub.publish("bench", "bench.topic", payload);
    await got;
  };
  // A lock cycle: the next acquire waits until the release is written (NATS writes it behind).
  const lockCycle = async (s: MultiAgentSystem): Promise<void> => {
    const lock = s.sync.getLock("bench.lock");
    await lock.acquire("bench");
    lock.release("bench");
  };
  provider.communication.streaming.createStream("bench.stream", { highWaterMark: 16 });
  const streamCycle = async (s: MultiAgentSystem): Promise<void> => {
    const id = s === local ? "bench.local-stream" : "bench.stream";
    await s.communication.streaming.send(id, payload);
    await s.communication.streaming.receive(id);
  };
  await consumer.communication.streaming.send("bench.stream", payload); // the host is known
  await consumer.communication.streaming.receive("bench.stream");
  const pairs: [string, Case, Case][] = [
    ["call", { name: "in-process call", op: () => local.call("echo", payload) }, { name: "NATS call", op: () => consumer.call("echo", payload) }],
    ["publish -> delivered", { name: "in-process publish to a subscriber", op: publishTo(local) }, { name: "NATS publish to another process's subscriber", op: publishTo(consumer) }],
    ["kv.update", { name: "in-process kv.update", op: () => local.kv.update<number>("counter", (n) => (n ?? 0) + 1) }, { name: "NATS kv.update", op: () => kvSystem.kv.update<number>("counter2", (n) => (n ?? 0) + 1) }],
    [
      "lock acquire + release",
      { name: "in-process lock", op: () => lockCycle(local) },
      { name: "NATS lock (sync bucket)", op: () => lockCycle(consumer) },
    ],
    [
      "event emit -> own handlers ran",
      { name: "in-process emit", op: () => local.events.emit("bench", "bench_event", { n: 1 }) },
      { name: "NATS emit (stream, back in order)", op: () => consumer.events.emit("bench", "bench_event", { n: 1 }) },
    ],
    [
      "stream send + receive",
      { name: "in-process stream", op: () => streamCycle(local) },
      { name: "NATS stream hosted by another process", op: () => streamCycle(consumer) },
    ],
  ];
  const ratios: string[] = [];
  for (const [label, a, b] of pairs) {
    const us = await compare([a, b]);
    report(`${label}: in-process vs NATS`, [a, b], us);
    ratios.push(`| ${label} | ${us[0]!.toFixed(2)} µs | ${us[1]!.toFixed(0)} µs | ${(us[1]! / us[0]!).toFixed(0)}x |`);
  }
  console.log("\nMarkdown (BENCHMARKS.md):\n");
  console.log("| comparison | covey vs raw | ratio | target | |\n|---|---|---|---|---|");
  for (const l of lines) console.log(l);
  console.log("\n| operation | in-process | NATS | NATS / in-process |\n|---|---|---|---|");
  for (const r of ratios) console.log(r);
} finally {
  for (const s of systems) await s.shutdown().catch(() => undefined);
  for (const nc of opened) await nc.close().catch(() => undefined);
  await server.stop();
}
