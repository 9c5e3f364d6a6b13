import { Semaphore as AmSemaphore } from "async-mutex";
import { Semaphore as A } from "./v/sem-a.js";
import { Semaphore as B } from "./v/sem-b.js";
import { compare } from "./harness.js";
const ids = Array.from({ length: 100 }, (_, i) => `agent-${i}`);
const a = new A(4), b = new B(4), am = new AmSemaphore(4);
const res = await compare({
  a: async () => { const ps: Promise<void>[] = []; for (const id of ids) ps.push(a.acquire(id).then(() => void a.release(id))); await Promise.all(ps); },
  b: async () => { const ps: Promise<void>[] = []; for (const id of ids) ps.push(b.acquire(id).then(() => void b.release(id))); await Promise.all(ps); },
  am: async () => { const ps: Promise<void>[] = []; for (let i = 0; i < 100; i++) ps.push(am.acquire().then(([, r]) => r())); await Promise.all(ps); },
}, { rounds: 21 });
console.log(Object.entries(res).map(([k, v]) => `${k} ${v.toFixed(1)}µs (am/x ${(res["am"]! / v).toFixed(2)})`).join("  "));
