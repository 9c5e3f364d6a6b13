import { Semaphore } from "/work/main/src/sync/semaphore.js";
const ids = Array.from({ length: 100 }, (_, i) => `agent-${i}`);
const sem = new Semaphore(4);
async function semContended(): Promise<void> {
  const ps: Promise<void>[] = [];
  for (const id of ids) ps.push(sem.acquire(id).then(() => void sem.release(id)));
  await Promise.all(ps);
}
// baseline: raw FIFO of resolvers
let inUse = 0; const q: (() => void)[] = [];
function acq(): Promise<void> { if (inUse < 4) { inUse++; return Promise.resolve(); } return new Promise<void>((r) => q.push(r)); }
function rel(): void { const r = q.shift(); if (r) r(); else inUse--; }
async function raw(): Promise<void> {
  const ps: Promise<void>[] = [];
  for (const _id of ids) ps.push(acq().then(() => rel()));
  await Promise.all(ps);
}
for (const [name, f] of [["sem", semContended], ["raw", raw], ["sem", semContended], ["raw", raw]] as const) {
  for (let i = 0; i < 20000; i++) await f();
  const t = performance.now(); for (let i = 0; i < 50000; i++) await f(); console.log(name, ((performance.now() - t) / 50000 * 1000).toFixed(2), "µs");
}
