import { defineAgent, createSystem } from "../../src/agents/index.js";
import { EventBus } from "../../src/events/index.js";
import { fmtBytes, settledHeap, type CheckResult, type Figure } from "../harness.js";

/** Heap growth allowed between 10% and 100% of the run for memory to count as bounded. */
const SLACK = 2 * 1048576;

/**
 * 1M events through the bus (history limit 1,000) and 1M trace records (trace limit 10,000):
 * the heap after a tenth of the run and after all of it; bounded means it stopped growing.
 */
export const figure: Figure = {
  name: "bounded-memory",
  title: "1M events through the bus / 1M trace records",
  async run(profile) {
    const total = profile.quick ? 200_000 : 1_000_000;
    const checks: CheckResult[] = [];
    const notes: string[] = [];

    {
      const base = await settledHeap();
      const bus = new EventBus();
      let seen = 0;
      bus.subscribe("*", () => void seen++);
      let tenth = 0;
      const t0 = performance.now();
      for (let i = 0; i < total; i++) {
        await bus.emit({ type: "task_completed", source: "bench", payload: { taskId: i } });
        if (i === total / 10 - 1) tenth = await settledHeap();
      }
      const ms = performance.now() - t0;
      const end = await settledHeap();
      if (seen !== total) throw new Error(`handler saw ${seen} of ${total} events`);
      if (bus.getHistory({ limit: 10_000 }).length !== 1000) throw new Error("history is not bounded at 1000");
      checks.push({
        target: `heap bounded by historyLimit after ${total / 1e6}M events`,
        measured: `+${fmtBytes(tenth - base)} after ${total / 10e3}k, +${fmtBytes(end - base)} after ${total / 1e6}M`,
        met: end - tenth < SLACK,
      });
      notes.push(`${total} events emitted in ${ms.toFixed(0)} ms (${((total / ms) * 1000 / 1e6).toFixed(2)}M events/s, awaited)`);
    }

    {
      const base = await settledHeap();
      const system = createSystem({ trace: true });
      await system.addAgent(defineAgent({ name: "echo", handler: (n: number) => n }));
      const seq = (): number => {
        const records = system.trace.records;
        return records[records.length - 1]?.seq ?? 0;
      };
      let tenth = 0;
      let calls = 0;
      const t0 = performance.now();
      while (seq() < total) {
        for (let i = 0; i < 5000; i++) await system.call("echo", i);
        calls += 5000;
        if (tenth === 0 && seq() >= total / 10) tenth = await settledHeap();
      }
      const ms = performance.now() - t0;
      const records = seq();
      const end = await settledHeap();
      const retained = system.trace.records.length;
      await system.shutdown();
      checks.push({
        target: `heap bounded by trace.limit after ${total / 1e6}M trace records`,
        measured: `+${fmtBytes(tenth - base)} after ${total / 10e3}k, +${fmtBytes(end - base)} after ${(records / 1e6).toFixed(2)}M (${retained} retained)`,
        met: end - tenth < SLACK && retained <= 10_000,
      });
      notes.push(`${calls} traced calls made ${records} records in ${ms.toFixed(0)} ms`);
    }
    return { name: this.name, title: this.title, cases: [], checks, notes };
  },
};
