import { Semaphore } from "../src/sync/semaphore.js";
const ids = Array.from({ length: 100 }, (_, i) => `agent-${i}`);
const sem = new Semaphore(4);
async function semContended(): Promise<void> {
  const ps: Promise<void>[] = [];
  for (const id of ids) ps.push(sem.acquire(id).then(() => void sem.release(id)));
  await Promise.all(ps);
}
for (let i = 0; i < 60000; i++) await semContended();
