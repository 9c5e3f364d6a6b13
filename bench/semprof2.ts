import { Semaphore } from "../src/sync/semaphore.js";
import { Lock } from "../src/sync/lock.js";
const ids = Array.from({ length: 100 }, (_, i) => `agent-${i}`);
const sem = new Semaphore(4);
const sem1 = new Semaphore(1);
const lock = new Lock("x");
async function semContended(): Promise<void> {
  const ps: Promise<void>[] = [];
  for (const id of ids) ps.push(sem.acquire(id).then(() => void sem.release(id)));
  await Promise.all(ps);
}
async function sem1Contended(): Promise<void> {
  const ps: Promise<void>[] = [];
  for (const id of ids) ps.push(sem1.acquire(id).then(() => void sem1.release(id)));
  await Promise.all(ps);
}
async function lockContended(): Promise<void> {
  const ps: Promise<void>[] = [];
  for (const id of ids) ps.push(lock.acquire(id).then(() => void lock.release(id)));
  await Promise.all(ps);
}
for (let round = 0; round < 3; round++)
for (const [name, f] of [["sem4", semContended], ["sem1", sem1Contended], ["lock", lockContended]] as const) {
  for (let i = 0; i < 5000; i++) await f();
  const t = performance.now(); for (let i = 0; i < 20000; i++) await f(); console.log(name, ((performance.now() - t) / 20000 * 1000).toFixed(2), "µs");
}
