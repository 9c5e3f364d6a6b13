/**
 * covey benchmark suite.
 *
 *   npm run bench                     full run (< 10 min), writes BENCHMARKS.md
 *   npm run bench -- --quick          CI smoke (< 1 min); prints only, never fails on a timing
 *   npm run bench -- --only lock,kv-set   some figures; prints only
 *   npm run bench -- --out FILE       also write the markdown report to FILE
 *
 * A figure that throws makes the run exit non-zero; a missed target never does.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { canCollect, fullProfile, quickProfile, type Figure, type FigureResult } from "./harness.js";
import { markdown, printFigure, runInfo } from "./report.js";

/** Figure modules, in report order; each default-less module exports `figure`. */
const modules: readonly [string, () => Promise<{ figure: Figure }>][] = [
  ["call", () => import("./figures/call.js")],
  ["call-inflight", () => import("./figures/call-inflight.js")],
  ["call-schemas", () => import("./figures/call-schemas.js")],
  ["publish", () => import("./figures/publish.js")],
  ["kv-update", () => import("./figures/kv-update.js")],
  ["kv-set", () => import("./figures/kv-set.js")],
  ["lock", () => import("./figures/lock.js")],
  ["semaphore", () => import("./figures/semaphore.js")],
  ["tasks", () => import("./figures/tasks.js")],
  ["agents-scale", () => import("./figures/agents-scale.js")],
  ["shared-plan", () => import("./figures/shared-plan.js")],
  ["bounded-memory", () => import("./figures/bounded-memory.js")],
];

function parseArgs(argv: readonly string[]): { quick: boolean; only: Set<string> | undefined; out: string | undefined } {
  let quick = false;
  let only: Set<string> | undefined;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") quick = true;
    else if (a === "--only") only = new Set((argv[++i] ?? "").split(",").filter(Boolean));
    else if (a.startsWith("--only=")) only = new Set(a.slice(7).split(",").filter(Boolean));
    else if (a === "--out") out = argv[++i];
    else if (a.startsWith("--out=")) out = a.slice(6);
    else if (a === "--help" || a === "-h") {
      console.log(`usage: npm run bench -- [--quick] [--only ${modules.map(([n]) => n).join(",")}] [--out FILE]`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (only !== undefined) {
    for (const name of only) if (!modules.some(([n]) => n === name)) throw new Error(`unknown figure ${name}`);
  }
  return { quick, only, out };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const profile = args.quick ? quickProfile : fullProfile;
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  if (!canCollect) console.warn("warning: gc is not available; heap figures are approximate");
  const started = performance.now();
  const loadAtStart = loadavg()[0]!;
  const results: FigureResult[] = [];
  const failed: { name: string; error: string }[] = [];
  for (const [name, load] of modules) {
    if (args.only !== undefined && !args.only.has(name)) continue;
    try {
      const { figure } = await load();
      const result = await figure.run(profile);
      results.push(result);
      console.log(printFigure(result));
    } catch (err) {
      const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      failed.push({ name, error });
      console.error(`\n✖ ${name} failed: ${err instanceof Error ? (err.stack ?? error) : error}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  // The hand-written analysis of missed targets (from profiles) follows the measured figures.
  const analysisFile = new URL("./analysis.md", import.meta.url);
  const analysis = existsSync(analysisFile) ? readFileSync(analysisFile, "utf8") : "";
  const report = markdown(runInfo(command, profile, seconds, loadAtStart), results, failed) + (analysis ? `\n${analysis}` : "");
  const checks = results.flatMap((r) => r.checks);
  console.log(`\n${checks.filter((c) => c.met).length} of ${checks.length} targets met, ${failed.length} figures failed, ${seconds.toFixed(1)} s`);
  const target = args.out ?? (!args.quick && args.only === undefined ? "BENCHMARKS.md" : undefined);
  if (target !== undefined) {
    // The standalone benchmarks (bench/sqlite.ts, bench/nats.ts) write their sections below a
    // marker by hand; a full run rewrites only what is above it.
    const previous = existsSync(target) ? readFileSync(target, "utf8") : "";
    const kept = previous.indexOf(STANDALONE_MARKER);
    writeFileSync(target, kept < 0 ? report : `${report}\n${previous.slice(kept)}`);
    console.log(`wrote ${target}`);
  }
  if (failed.length > 0) process.exitCode = 1;
}

/** Where the sections of the standalone benchmarks start in BENCHMARKS.md. */
const STANDALONE_MARKER = "<!-- standalone benchmarks: kept by npm run bench -->";

await main();
