// Not committed: quick comparison of covey's sync primitives with async-mutex.
import { Bench } from "tinybench";
import { Mutex, Semaphore as AmSemaphore } from "async-mutex";
import { Lock } from "../src/sync/lock.js";
import { Semaphore } from "../src/sync/semaphore.js";

const ids = Array.from({ length: 100 }, (_, i) => `agent-${i}`);
const lock = new Lock("bench");
const mutex = new Mutex();
const sem = new Semaphore(4);
const amSem = new AmSemaphore(4);

async function lockContended(): Promise<void> {
  const ps: Promise<void>[] = [];
  for (const id of ids) ps.push(lock.acquire(id).then(() => void lock.release(id)));
  await Promise.all(ps);
}
async function mutexContended(): Promise<void> {
  const ps: Promise<void>[] = [];
  for (let i = 0; i < 100; i++) ps.push(mutex.acquire().then((release) => release()));
  await Promise.all(ps);
}
async function semContended(): Promise<void> {
  const ps: Promise<void>[] = [];
  for (const id of ids) ps.push(sem.acquire(id).then(() => void sem.release(id)));
  await Promise.all(ps);
}
async function amSemContended(): Promise<void> {
  const ps: Promise<void>[] = [];
  for (let i = 0; i < 100; i++) ps.push(amSem.acquire().then(([, release]) => release()));
  await Promise.all(ps);
}

const pairs: [string, () => Promise<void>, string, () => Promise<void>][] = [
  ["Lock uncontended", async () => { await lock.acquire("a"); lock.release("a"); },
   "Mutex uncontended", async () => { const r = await mutex.acquire(); r(); }],
  ["Lock 100 contending", lockContended, "Mutex 100 contending", mutexContended],
  ["Semaphore(4) 100 contending", semContended, "async-mutex Semaphore(4) 100 contending", amSemContended],
];

for (let round = 1; round <= 3; round++) {
  for (const [an, af, bn, bf] of pairs) {
    const bench = new Bench({ time: 400, warmup: true, warmupTime: 100 });
    bench.add(an, af).add(bn, bf).add(`${an} (again)`, af).add(`${bn} (again)`, bf);
    await bench.run();
    const med = (name: string): number => {
      const t = bench.getTask(name)!.result!;
      return "latency" in t ? (t as { latency: { p50: number } }).latency.p50 : NaN;
    };
    const a = (med(an) + med(`${an} (again)`)) / 2;
    const b = (med(bn) + med(`${bn} (again)`)) / 2;
    console.log(`round ${round}: ${an}: ${(a * 1000).toFixed(3)} µs, ${bn}: ${(b * 1000).toFixed(3)} µs, ratio ${(b / a).toFixed(2)}x`);
  }
}
