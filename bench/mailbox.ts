// Why an agent's mailbox is not a p-queue: the cost of one job through each, in one process.
//   npx tsx bench/mailbox.ts            (add --quick for a short run)
// Cases: a job that finds a free slot (the call path's common case), and 1,000 jobs queued
// behind a concurrency of 1 (a busy agent).
import PQueue from "p-queue";
import { Mailbox } from "../src/agents/mailbox.js";
import { compare, fmtNs, fullProfile, quickProfile, ratio } from "./harness.js";

const profile = process.argv.includes("--quick") ? quickProfile : fullProfile;
const BATCH = 1000;
const job = (n: number): number => n + 1;

const free = new Mailbox<number>(1, "agent bench", { handleJob: job });
const freeQueue = new PQueue({ concurrency: 1 });
const busy = new Mailbox<number>(1, "agent bench", { handleJob: async (n: number) => job(n) });
const busyQueue = new PQueue({ concurrency: 1 });
const pending = new Array<unknown>(BATCH);

const results = await compare(
  [
    {
      name: "Mailbox, free slot (sync job)",
      ops: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) await free.push(i);
      },
    },
    {
      name: "p-queue, free slot (same job)",
      ops: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) await freeQueue.add(() => job(i));
      },
    },
    {
      name: "Mailbox, 1,000 queued (concurrency 1)",
      ops: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) pending[i] = busy.push(i);
        await Promise.all(pending);
      },
    },
    {
      name: "p-queue, 1,000 queued (concurrency 1)",
      ops: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) pending[i] = busyQueue.add(async () => job(i));
        await Promise.all(pending);
      },
    },
  ],
  profile,
);

for (const r of results) console.log(`${r.name.padEnd(40)} ${fmtNs(r.median).padStart(10)} per job`);
console.log(`free slot: p-queue / Mailbox = ${ratio(results, "p-queue, free slot (same job)", "Mailbox, free slot (sync job)").toFixed(2)}x`);
console.log(`queued:    p-queue / Mailbox = ${ratio(results, "p-queue, 1,000 queued (concurrency 1)", "Mailbox, 1,000 queued (concurrency 1)").toFixed(2)}x`);
