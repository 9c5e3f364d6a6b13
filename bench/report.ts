import { cpus, loadavg, totalmem } from "node:os";
import { fmtNs, fmtRate, type FigureResult, type Profile } from "./harness.js";

/** The machine and run a set of figures was measured on. */
export interface RunInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memory: string;
  readonly node: string;
  readonly date: string;
  readonly command: string;
  readonly profile: Profile;
  readonly seconds: number;
  /** 1-minute load average at the start and end of the run (other work on the machine). */
  readonly load: readonly [number, number];
}

export function runInfo(command: string, profile: Profile, seconds: number, loadAtStart: number): RunInfo {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? "unknown",
    cores: cpu.length,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    date: new Date().toISOString(),
    command,
    profile,
    seconds,
    load: [loadAtStart, loadavg()[0]!],
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/** A plain-text table for the terminal. */
export function textTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => pad(c, widths[i]!)).join("  ")).join("\n");
}

/** The terminal summary of one figure. */
export function printFigure(f: FigureResult): string {
  const lines = [`\n▶ ${f.title} [${f.name}]`];
  if (f.cases.length > 0) {
    lines.push(
      textTable([
        ["case", "median/op", "p25–p75", "ops/s", "samples"],
        ...f.cases.map((c) => [c.name, fmtNs(c.median), `${fmtNs(c.p25)}–${fmtNs(c.p75)}`, fmtRate(c.opsPerSec), String(c.samples)]),
      ]),
    );
  }
  for (const c of f.checks) lines.push(`  ${c.met ? "met   " : "MISSED"}  ${c.target}: ${c.measured}`);
  for (const n of f.notes) lines.push(`  note: ${n}`);
  return lines.join("\n");
}

function md(text: string): string {
  return text.replace(/\|/g, "\\|");
}

/** BENCHMARKS.md: the machine, the command, a summary of every target, then every case. */
export function markdown(info: RunInfo, figures: readonly FigureResult[], failed: readonly { name: string; error: string }[]): string {
  const out: string[] = [];
  out.push("# covey benchmarks", "");
  out.push(
    "Every covey figure is measured against its baseline **in the same process, alternating**: each round",
    "runs every case once after a warm-up (the order rotates per round), and the samples of all rounds are",
    "pooled. Each sample times a batch of operations; the figures are per operation. Ratios compare",
    "medians (covey ÷ baseline; below 1.0 means covey is faster). The machine is shared and noisy: trust",
    "ratios more than absolute times.",
    "",
  );
  out.push("| | |", "|---|---|");
  out.push(`| machine | ${md(info.cpu)}, ${info.cores} cores, ${info.memory} |`);
  out.push(`| node | ${info.node} |`);
  out.push(`| date | ${info.date} |`);
  out.push(`| command | \`${md(info.command)}\` |`);
  out.push(
    `| profile | ${info.profile.quick ? "quick" : "full"}: ${info.profile.rounds} rounds × ${info.profile.time} ms per case (+${info.profile.warmupTime} ms warm-up) |`,
  );
  out.push(`| duration | ${info.seconds.toFixed(0)} s |`);
  out.push(`| load average (1 min) | ${info.load[0].toFixed(2)} at start, ${info.load[1].toFixed(2)} at end, on ${info.cores} cores |`, "");

  const checks = figures.flatMap((f) => f.checks.map((c) => ({ f, c })));
  const met = checks.filter((x) => x.c.met).length;
  out.push(`## Targets: ${met} of ${checks.length} met`, "");
  out.push("| figure | target | measured | |", "|---|---|---|---|");
  for (const { f, c } of checks) out.push(`| ${md(f.title)} | ${md(c.target)} | ${md(c.measured)} | ${c.met ? "met" : "**missed**"} |`);
  for (const x of failed) out.push(`| ${md(x.name)} | — | failed to run: ${md(x.error)} | **error** |`);
  out.push("");

  out.push("## Figures", "");
  for (const f of figures) {
    out.push(`### ${f.title} (\`--only ${f.name}\`)`, "");
    if (f.cases.length > 0) {
      out.push("| case | median / op | p25 – p75 | ops/s | samples |", "|---|---|---|---|---|");
      for (const c of f.cases) {
        out.push(`| ${md(c.name)} | ${fmtNs(c.median)} | ${fmtNs(c.p25)} – ${fmtNs(c.p75)} | ${fmtRate(c.opsPerSec)} | ${c.samples} |`);
      }
      out.push("");
    }
    for (const c of f.checks) out.push(`- ${c.met ? "met" : "**missed**"}: ${c.target} — measured ${c.measured}`);
    for (const n of f.notes) out.push(`- ${n}`);
    out.push("");
  }
  return out.join("\n");
}
