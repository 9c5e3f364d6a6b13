export async function compare(cases: Record<string, () => Promise<void>>, opts: { rounds?: number; iters?: number } = {}): Promise<Record<string, number>> {
  const rounds = opts.rounds ?? 15, iters = opts.iters ?? 1000;
  const names = Object.keys(cases);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) for (let i = 0; i < iters; i++) await cases[n]!();
  for (let r = 0; r < rounds; r++) {
    for (const n of r % 2 ? [...names].reverse() : names) {
      const f = cases[n]!;
      const t = performance.now();
      for (let i = 0; i < iters; i++) await f();
      samples[n]!.push(((performance.now() - t) / iters) * 1000);
    }
  }
  const out: Record<string, number> = {};
  for (const n of names) { const s = samples[n]!.sort((a, b) => a - b); out[n] = s[s.length >> 1]!; }
  return out;
}
