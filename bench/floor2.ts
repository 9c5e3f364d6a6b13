import { Semaphore as AmSemaphore } from "async-mutex";
import { Semaphore } from "../src/sync/semaphore.js";
import { compare } from "./quick-compare.js";
const ids = Array.from({ length: 100 }, (_, i) => `agent-${i}`);
class Raw { inUse = 0; q: (() => void)[] = []; h = 0;
  acquire(): Promise<void> { if (this.inUse < 4) { this.inUse++; return Promise.resolve(); } return new Promise<void>((r) => this.q.push(r)); }
  release(): void { if (this.h < this.q.length) { const r = this.q[this.h]!; this.q[this.h++] = undefined as never; r(); if (this.h === this.q.length) { this.q.length = 0; this.h = 0; } } else this.inUse--; } }
const raw = new Raw(); const sem = new Semaphore(4); const am = new AmSemaphore(4);
const res = await compare({
  raw: async () => { const ps: Promise<void>[] = []; for (const _ of ids) ps.push(raw.acquire().then(() => raw.release())); await Promise.all(ps); },
  covey: async () => { const ps: Promise<void>[] = []; for (const id of ids) ps.push(sem.acquire(id).then(() => void sem.release(id))); await Promise.all(ps); },
  am: async () => { const ps: Promise<void>[] = []; for (let i = 0; i < 100; i++) ps.push(am.acquire().then(([, r]) => r())); await Promise.all(ps); },
});
console.log(Object.entries(res).map(([k, v]) => `${k} ${v.toFixed(1)}µs`).join("  "), ` am/covey ${(res["am"]! / res["covey"]!).toFixed(2)}x`);
