import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Bench, type Task } from "tinybench";

/**
 * How long and how often each side of a comparison is measured. The quick profile is a CI
 * smoke run (the whole suite in well under a minute); the full profile gives stable medians.
 */
export interface Profile {
  readonly quick: boolean;
  /** Alternating rounds per comparison: every round measures each case once, in turn. */
  readonly rounds: number;
  /** Time budget per case per round, ms. */
  readonly time: number;
  /** Warm-up budget per case per round, ms. */
  readonly warmupTime: number;
  /** Minimum samples per case per round. */
  readonly iterations: number;
  /** Minimum warm-up calls per case per round. @default 2 */
  readonly warmupIterations?: number;
}

export const quickProfile: Profile = { quick: true, rounds: 2, time: 120, warmupTime: 40, iterations: 4 };
export const fullProfile: Profile = { quick: false, rounds: 6, time: 700, warmupTime: 150, iterations: 10 };

/** One side of a comparison: `fn` performs `ops` operations per call. */
export interface Case {
  readonly name: string;
  /** Operations one call of `fn` performs; figures are reported per operation. */
  readonly ops: number;
  readonly fn: () => unknown;
  /** Untimed preparation before each call of `fn` (a fresh store, fresh tasks...). */
  readonly beforeEach?: () => unknown;
}

/** Per-operation statistics of one case, pooled over every round. */
export interface CaseResult {
  readonly name: string;
  /** Median ns per operation. */
  readonly median: number;
  readonly p25: number;
  readonly p75: number;
  /** Operations per second at the median. */
  readonly opsPerSec: number;
  readonly samples: number;
}

/** A target of the issue and whether this run met it. */
export interface CheckResult {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

/** What one figure reports. */
export interface FigureResult {
  readonly name: string;
  readonly title: string;
  readonly cases: readonly CaseResult[];
  readonly checks: readonly CheckResult[];
  readonly notes: readonly string[];
}

/** A benchmark figure: one file under bench/figures/. */
export interface Figure {
  /** Short id for `--only`. */
  readonly name: string;
  readonly title: string;
  run(profile: Profile): Promise<FigureResult>;
}

// Heap figures need full collections. `npm run bench` starts node without --expose-gc, so the
// flag is switched on at run time and a fresh context hands out the gc function.
function findGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}

const gc = findGc();

/** Runs a full garbage collection when node was started with --expose-gc. */
export function collect(): void {
  gc?.();
}

/** True when heap figures can be trusted (node --expose-gc). */
export const canCollect = gc !== undefined;

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function samplesOf(task: Task): readonly number[] {
  const r = task.result;
  if (r.state === "errored") throw r.error;
  if (r.state !== "completed" && r.state !== "aborted-with-statistics") throw new Error(`task ${task.name} ended in state ${r.state}`);
  return r.latency.samples ?? [];
}

/**
 * Measures every case in the same process, alternating: each round runs each case once (the
 * order rotates from round to round), after a warm-up, so heap warmth and machine noise hit
 * every side alike. Samples are pooled over rounds; medians and quartiles are per operation.
 */
export async function compare(cases: readonly Case[], profile: Profile): Promise<CaseResult[]> {
  const pooled = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let round = 0; round < profile.rounds; round++) {
    const bench = new Bench({
      time: profile.time,
      warmupTime: profile.warmupTime,
      iterations: profile.iterations,
      warmupIterations: profile.warmupIterations ?? 2,
      retainSamples: true,
      throws: true,
    });
    const order = cases.map((_, i) => cases[(i + round) % cases.length]!);
    for (const c of order) {
      bench.add(c.name, c.fn, {
        beforeAll: collect,
        ...(c.beforeEach !== undefined ? { beforeEach: c.beforeEach as () => Promise<void> } : {}),
      });
    }
    await bench.run();
    for (const c of order) {
      const task = bench.getTask(c.name)!;
      const perOp = samplesOf(task).map((ms) => (ms * 1e6) / c.ops);
      pooled.get(c.name)!.push(...perOp);
    }
  }
  return cases.map((c) => {
    const s = pooled.get(c.name)!.sort((a, b) => a - b);
    const median = quantile(s, 0.5);
    return { name: c.name, median, p25: quantile(s, 0.25), p75: quantile(s, 0.75), opsPerSec: 1e9 / median, samples: s.length };
  });
}

/** Median of `side` divided by median of `base`. */
export function ratio(results: readonly CaseResult[], side: string, base: string): number {
  return byName(results, side).median / byName(results, base).median;
}

export function byName(results: readonly CaseResult[], name: string): CaseResult {
  const r = results.find((x) => x.name === name);
  if (r === undefined) throw new Error(`no case named ${name}`);
  return r;
}

/** `x <= limit` as a check row. */
export function atMost(target: string, value: number, limit: number, format: (v: number) => string = fmtRatio): CheckResult {
  return { target, measured: format(value), met: value <= limit };
}

/** `x >= limit` as a check row. */
export function atLeast(target: string, value: number, limit: number, format: (v: number) => string = fmtRatio): CheckResult {
  return { target, measured: format(value), met: value >= limit };
}

export const fmtRatio = (v: number): string => `${v.toFixed(2)}x`;
export const fmtRate = (v: number): string =>
  v >= 1e6 ? `${(v / 1e6).toFixed(2)}M/s` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k/s` : `${v.toFixed(0)}/s`;
export const fmtNs = (v: number): string =>
  v >= 1e6 ? `${(v / 1e6).toFixed(2)} ms` : v >= 1e3 ? `${(v / 1e3).toFixed(2)} µs` : `${v.toFixed(0)} ns`;
export const fmtBytes = (v: number): string =>
  Math.abs(v) >= 1048576 ? `${(v / 1048576).toFixed(2)} MB` : Math.abs(v) >= 1024 ? `${(v / 1024).toFixed(2)} KB` : `${v.toFixed(0)} B`;

/** Heap used after a full collection (several passes, so weak and finalised objects go too). */
export async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    collect();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

/** Runs `body` and times it once with the high-resolution clock, in ns. */
export async function timeOnce(body: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await body();
  return Number(process.hrtime.bigint() - t0);
}
