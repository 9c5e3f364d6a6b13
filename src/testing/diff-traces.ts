import type { Trace, TraceRecord } from "../runtime/trace.js";

/** Where two traces first differ. */
export interface TraceDivergence {
  /** Index of the first differing record (0-based). */
  index: number;
  /** The record of the first trace there (undefined: it ended). */
  a: TraceRecord | undefined;
  /** The record of the second trace there (undefined: it ended). */
  b: TraceRecord | undefined;
  /** One line saying what differs. */
  message: string;
}

const show = (r: TraceRecord | undefined): string =>
  r === undefined ? "(end of trace)" : `#${r.seq} @${r.at}ms ${r.kind} ${r.from ?? ""}->${r.to ?? ""} ${r.name ?? ""}`.trim();

/**
 * Compares two traces record by record; returns the first divergence, or undefined when
 * they are identical.
 */
export function diffTraces(a: Trace | readonly TraceRecord[], b: Trace | readonly TraceRecord[]): TraceDivergence | undefined {
  const ra = "records" in a ? a.records : a;
  const rb = "records" in b ? b.records : b;
  const n = Math.max(ra.length, rb.length);
  for (let i = 0; i < n; i++) {
    const x = ra[i];
    const y = rb[i];
    if (x !== undefined && y !== undefined && JSON.stringify(x) === JSON.stringify(y)) continue;
    return { index: i, a: x, b: y, message: `traces diverge at record ${i}: ${show(x)} vs ${show(y)}` };
  }
  return undefined;
}
