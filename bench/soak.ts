// Soak: does anything grow with the number of tasks or streams a system has seen?
//   node --expose-gc --import tsx bench/soak.ts            (1M tasks, 1M streams)
//   node --expose-gc --import tsx bench/soak.ts --quick    (100k of each)
//   add --task-timeout to pass { timeout: 30000 } to every submitTask
//
// Tasks: submitTask runs the textbook task flow (events, `task:<id>:*` keys in shared state,
// one `task:<id>` lock per task). The task keys are the user's data, so the soak deletes them
// after each batch, as a long-running user would; what must not grow is everything else: the
// lock table, pending requests, event and state histories (bounded), mailboxes, ids.
// Streams: each is created, written, read to the end and closed; a closed, drained stream must
// be forgotten. Heap is measured after a warm-up and after the run, each after full GCs; the
// run fails (exit code 1) if the heap grew by more than the stated bound.
import { createSystem } from "../src/index.js";

const quick = process.argv.includes("--quick");
const taskOpts = process.argv.includes("--task-timeout") ? { timeout: 30_000 } : undefined;
const TASKS = quick ? 100_000 : 1_000_000;
const STREAMS = quick ? 100_000 : 1_000_000;
const BATCH = 1_000;
const WARMUP = 20_000;
/** Heap growth allowed over the whole run, for each phase. */
const BOUND_BYTES = 4 * 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error("run with node --expose-gc --import tsx bench/soak.ts");
  process.exit(2);
}

async function settledHeap(): Promise<number> {
  // Two rounds: finalizers and weak references let go only after a GC has seen them.
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setImmediate(r));
    gc!();
  }
  return process.memoryUsage().heapUsed;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

const system = createSystem();
// Work that answers at once (the default simulated work sleeps 100 ms): the soak is about
// what the flow keeps, not about waiting.
const work = (task: { payload?: unknown }): unknown => task.payload;
await system.addAgent("worker-1", ["work"], { work, concurrency: 8 });
await system.addAgent("worker-2", ["work"], { work, concurrency: 8 });
const shared = system.state.namespace("shared");
let taskSeq = 0;

async function runTasks(n: number): Promise<void> {
  for (let done = 0; done < n; done += BATCH) {
    const ids: string[] = [];
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < BATCH; i++) {
      const id = `t${taskSeq++}`;
      ids.push(id);
      batch.push(system.submitTask({ id, type: "work", payload: { n: i } }, taskOpts));
    }
    await Promise.all(batch);
    // The flow's own keys: the user's data, removed as a long-running user would.
    for (const id of ids) {
      await shared.delete(`task:${id}:status`);
      await shared.delete(`task:${id}:result`);
      await shared.delete(`task:${id}:completed`);
    }
  }
}

const streams = system.communication.streaming;
let streamSeq = 0;

async function runStreams(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const id = `s${streamSeq++}`;
    streams.createStream(id, { highWaterMark: 4 });
    await streams.send(id, i);
    streams.closeStream(id);
    await streams.receive(id);
    await streams.receive(id); // undefined: closed and drained
  }
}

interface Phase {
  name: string;
  count: number;
  before: number;
  after: number;
  ms: number;
}

async function phase(name: string, count: number, run: (n: number) => Promise<void>): Promise<Phase> {
  await run(WARMUP);
  const before = await settledHeap();
  const started = performance.now();
  const step = count / 10;
  for (let done = 0; done < count; done += step) {
    await run(step);
    const heap = process.memoryUsage().heapUsed;
    console.log(`  ${name}: ${(done + step).toLocaleString("en")} done, heap ${mb(heap)} (before GC)`);
  }
  const ms = performance.now() - started;
  const after = await settledHeap();
  return { name, count, before, after, ms };
}

const results: Phase[] = [];
results.push(await phase("tasks", TASKS, runTasks));
results.push(await phase("streams", STREAMS, runStreams));

const locksLeft = system.sync.snapshot().locks.length;
const streamsLeft = [...streams.streamIds()].length;
await system.shutdown();

console.log(`\nSoak on Node ${process.version}, bound ${mb(BOUND_BYTES)} of heap growth per phase${taskOpts ? ", submitTask with { timeout: 30000 }" : ""}`);
let failed = false;
for (const r of results) {
  const growth = r.after - r.before;
  const ok = growth <= BOUND_BYTES;
  failed ||= !ok;
  console.log(
    `${r.name.padEnd(8)} ${r.count.toLocaleString("en")} in ${(r.ms / 1000).toFixed(1)} s: heap ${mb(r.before)} -> ${mb(r.after)} ` +
      `(${growth >= 0 ? "+" : ""}${mb(growth)}, ${(growth / r.count).toFixed(2)} B each) ${ok ? "within bound" : "OVER BOUND"}`,
  );
}
console.log(`left after the run: ${locksLeft} locks in the manager, ${streamsLeft} streams held by the streaming channel`);
if (locksLeft !== 0 || streamsLeft !== 0) failed = true;
process.exit(failed ? 1 : 0);
