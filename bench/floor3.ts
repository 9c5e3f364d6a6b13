import { Semaphore as AmSemaphore } from "async-mutex";
import { Semaphore as A } from "./v/sem-a.js";
import { Semaphore as B } from "./v/sem-b.js";
import { Semaphore as C } from "./v/sem-c.js";
import { Semaphore as D } from "./v/sem-d.js";
import { compare } from "./quick-compare.js";
const ids = Array.from({ length: 100 }, (_, i) => `agent-${i}`);
class Raw { inUse = 0; q: (() => void)[] = []; h = 0;
  acquire(): Promise<void> { if (this.inUse < 4) { this.inUse++; return Promise.resolve(); } return new Promise<void>((r) => this.q.push(r)); }
  release(): void { if (this.h < this.q.length) { const r = this.q[this.h]!; this.q[this.h++] = undefined as never; r(); if (this.h === this.q.length) { this.q.length = 0; this.h = 0; } } else this.inUse--; } }
const raw = new Raw();
const a = new A(4), b = new B(4), c = new C(4), d = new D(4), am = new AmSemaphore(4);
const mk = (s: { acquire(id: string): Promise<boolean>; release(id: string): boolean }) => async () => { const ps: Promise<void>[] = []; for (const id of ids) ps.push(s.acquire(id).then(() => void s.release(id))); await Promise.all(ps); };
const res = await compare({
  raw: async () => { const ps: Promise<void>[] = []; for (const _ of ids) ps.push(raw.acquire().then(() => raw.release())); await Promise.all(ps); },
  a: mk(a), b: mk(b), c: mk(c), d: mk(d),
  am: async () => { const ps: Promise<void>[] = []; for (let i = 0; i < 100; i++) ps.push(am.acquire().then(([, r]) => r())); await Promise.all(ps); },
}, { rounds: 21 });
console.log(Object.entries(res).map(([k, v]) => `${k} ${v.toFixed(1)}µs (am/x ${(res["am"]! / v).toFixed(2)})`).join("\n"));
