import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqliteStore } from "../../../src/backends/sqlite/index.js";
import { isWhole, KEYS_PER_WRITER, opFor, type CrashValue } from "./fixtures/crash-ops.js";

// The crash test SIGKILLs a writer process over and over, so process start-up is most of its
// cost. A child started with `--import tsx` compiles on the fly (about 0.8 s of CPU here); the
// same fixture compiled once from src to plain JavaScript starts in a fraction of that, so most
// kills use the compiled copy and the first one of each lane uses tsx directly, proving the two
// run the same code.
const FIXTURE = resolve(import.meta.dirname, "fixtures/crash-writer.ts");
const ROOT = resolve(import.meta.dirname, "../../..");
const WRITERS = 4;
const LANES = 2;

/** Kills per run: COVEY_CRASH_KILLS (default 110, so a plain `npm test` makes at least 100). */
function killCount(): number {
  const raw = process.env["COVEY_CRASH_KILLS"];
  const n = raw === undefined || raw === "" ? 110 : Number(raw);
  if (!Number.isInteger(n) || n < LANES) throw new Error(`COVEY_CRASH_KILLS must be an integer >= ${LANES}, got ${JSON.stringify(raw)}`);
  return n;
}

const KILLS_PER_LANE = Math.ceil(killCount() / LANES);
const SEED = Number(process.env["COVEY_CRASH_SEED"] ?? 20261202);

let dir = "";
let compiled = "";

/**
 * Compiles the writer and every module it reaches through relative imports to plain JavaScript
 * under `out`, in the same layout (so the `.js` specifiers of the sources resolve), with
 * TypeScript's own transpiler (a declared dev dependency; no bundler needed). Packages resolve
 * through a link to node_modules, as they do from the sources. Returns the compiled writer.
 */
async function compileFixture(out: string): Promise<string> {
  const ts = (await import("typescript")).default;
  const options = { target: ts.ScriptTarget.ES2023, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true };
  const todo = [FIXTURE];
  const done = new Set<string>();
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(file, "utf8");
    const dest = join(out, relative(ROOT, file)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, ts.transpileModule(source, { fileName: file, compilerOptions: options }).outputText);
    for (const { fileName } of ts.preProcessFile(source, true, true).importedFiles) {
      if (fileName.startsWith(".")) todo.push(resolve(dirname(file), fileName.replace(/\.js$/, ".ts")));
    }
  }
  writeFileSync(join(out, "package.json"), '{ "type": "module" }\n');
  symlinkSync(join(ROOT, "node_modules"), join(out, "node_modules"), "dir");
  return join(out, relative(ROOT, FIXTURE)).replace(/\.ts$/, ".js");
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "covey-crash-"));
  compiled = await compileFixture(join(dir, "compiled"));
});

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

/** A small seeded generator (mulberry32), so a failing run can be replayed with its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Ack {
  w: number;
  i: number;
  /** The version written, or for a delete 1 / 0 (existed or not). */
  x: number;
}

/**
 * When the child is killed: `n` ms after it reports ready; as soon as `n` acknowledgements have
 * arrived (its writers are then in the middle of their next ops); or `n` ms after it was
 * spawned, which may fall while it loads, opens or recovers the file.
 */
type KillPoint = "ready" | "acks" | "start";

/** Runs the child until it is killed at `when` (see {@link KillPoint}). */
async function runChild(lane: number, path: string, starts: number[], useTsx: boolean, n: number, when: KillPoint): Promise<{ acks: Ack[]; ready: boolean }> {
  const args = useTsx ? ["--import", "tsx", FIXTURE, path, ...starts.map(String)] : [compiled, path, ...starts.map(String)];
  // Odd lanes checkpoint the log every 4 pages (about every commit), so kills there also land
  // in checkpoints and log restarts, which a 1,000-page log rarely reaches in one short life.
  const env = lane % 2 === 1 ? { ...process.env, COVEY_CRASH_WAL_CHECKPOINT: "4" } : process.env;
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env });
  let out = "";
  let err = "";
  let ready = false;
  let timer: NodeJS.Timeout | undefined;
  const kill = (): void => {
    child.kill("SIGKILL");
  };
  if (when === "start") timer = setTimeout(kill, n);
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    out += chunk;
    if (!ready && out.startsWith("R\n")) {
      ready = true;
      if (when === "ready") timer = setTimeout(kill, n);
    }
    if (when === "acks" && out.split("\nA ").length > n) kill();
  });
  child.stderr.on("data", (chunk: string) => (err += chunk));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => child.on("close", (c, s) => done([c, s])));
  if (timer !== undefined) clearTimeout(timer);
  if (signal !== "SIGKILL") throw new Error(`the writer ended by itself (code ${String(code)}): ${err}`);
  const acks: Ack[] = [];
  for (const line of out.split("\n")) {
    const m = /^A (\d+) (\d+) (\d+)$/.exec(line);
    if (m !== null) acks.push({ w: Number(m[1]), i: Number(m[2]), x: Number(m[3]) });
  }
  return { acks, ready };
}

interface KeyState {
  /** Op number of the last write, or null when the key is absent. */
  i: number | null;
  version: number;
  /** For a value written by update: the op number it read. */
  prev: number | null;
}

interface LaneStats {
  kills: number;
  killedBeforeReady: number;
  acked: number;
  inFlightDurable: number;
  reopenChecks: number;
}

async function runLane(lane: number): Promise<LaneStats> {
  const path = join(dir, `lane-${lane}.db`);
  const rand = random(SEED + lane);
  const stats: LaneStats = { kills: 0, killedBeforeReady: 0, acked: 0, inFlightDurable: 0, reopenChecks: 0 };
  const next = Array.from({ length: WRITERS }, () => 0);
  const model = new Map<string, KeyState>();
  for (let w = 0; w < WRITERS; w++) for (let j = 0; j < KEYS_PER_WRITER; j++) model.set(`w${w}:k${j}`, { i: null, version: 0, prev: null });
  let counter = 0;
  let maxVersion = 0;
  const ackedVersions = new Map<number, string>();

  for (let run = 0; run < KILLS_PER_LANE; run++) {
    const when: KillPoint = run % 10 === 7 ? "start" : run % 2 === 0 ? "acks" : "ready";
    const n = Math.floor(rand() * (when === "start" ? 250 : when === "acks" ? 16 : 40));
    const { acks, ready } = await runChild(lane, path, [...next], run === 0, n, when);
    stats.kills++;
    if (!ready) stats.killedBeforeReady++;
    stats.acked += acks.length;

    // Apply what was acknowledged, in each writer's order, to the model of what must be there.
    const lastAcked = [...next].map((n) => n - 1);
    let increments = 0;
    const runVersions: number[] = [];
    for (const a of acks) {
      expect(a.i).toBe(lastAcked[a.w]! + 1);
      lastAcked[a.w] = a.i;
      const op = opFor(a.w, a.i);
      if (op.kind === "delete") {
        const before = model.get(op.key)!;
        expect(a.x).toBe(before.i === null ? 0 : 1);
        model.set(op.key, { i: null, version: 0, prev: null });
        continue;
      }
      runVersions.push(a.x);
      // Versions continue strictly above everything any earlier run wrote, and are never reused.
      expect(a.x).toBeGreaterThan(maxVersion);
      expect(ackedVersions.has(a.x)).toBe(false);
      ackedVersions.set(a.x, op.key);
      if (op.kind === "increment") increments++;
      else model.set(op.key, { i: a.i, version: a.x, prev: op.kind === "update" ? model.get(op.key)!.i : null });
    }

    const store = await sqliteStore(path, { historyLimit: 1_000_000 });
    try {
      stats.reopenChecks++;
      // Every key is as acknowledged, or as the one op of its writer that was in flight left it.
      const inFlight = lastAcked.map((n, w) => ({ w, i: n + 1, op: opFor(w, n + 1) }));
      for (const [key, want] of model) {
        const got = await store.get<CrashValue>(key);
        if (got !== undefined) {
          expect(isWhole(got.value)).toBe(true);
          expect(got.key).toBe(key);
        }
        const same = want.i === null ? got === undefined : got !== undefined && got.value.i === want.i && got.version === want.version && got.value.prev === want.prev;
        if (same) continue;
        const f = inFlight.find((x) => x.op.key === key);
        if (f === undefined) {
          const trail = (await store.history({ key })).slice(-4).map((c) => `${c.type} v${String(c.entry?.version ?? c.previous?.version)}`);
          const mine = acks.filter((a) => opFor(a.w, a.i).key === key).map((a) => `${opFor(a.w, a.i).kind} #${a.i} -> ${a.x}`);
          throw new Error(
            `run ${run} (${when}, ${acks.length} acks): key ${key}: expected op ${String(want.i)} v${want.version}, ` +
              `found op ${JSON.stringify(got?.value.i)} v${String(got?.version)}; acked here: ${mine.join(", ")}; ` +
              `history: ${trail.join(", ")}; in flight: ${JSON.stringify(inFlight.map((x) => [x.i, x.op]))}`,
          );
        }
        if (f.op.kind === "delete") expect(got).toBeUndefined();
        else {
          expect(got!.value.i).toBe(f.i);
          expect(got!.value.prev).toBe(f.op.kind === "update" ? want.i : null);
          expect(got!.version).toBeGreaterThan(maxVersion);
        }
        stats.inFlightDurable++;
        model.set(key, got === undefined ? { i: null, version: 0, prev: null } : { i: got.value.i, version: got.version, prev: got.value.prev });
      }
      // The shared counter lost no acknowledged increment and gained at most the ones in flight.
      const c = (await store.get<number>("counter"))?.value ?? 0;
      const mayHave = inFlight.filter((x) => x.op.kind === "increment").length;
      expect(c).toBeGreaterThanOrEqual(counter + increments);
      expect(c).toBeLessThanOrEqual(counter + increments + mayHave);
      stats.inFlightDurable += c - counter - increments;
      counter = c;

      // The history is the commit order: versions strictly increase, every acknowledged write
      // is there with its value, and each key's last change is its current state.
      const history = await store.history();
      let last = 0;
      const byVersion = new Map<number, number | null>();
      const lastOfKey = new Map<string, { type: string; version: number }>();
      for (const ch of history) {
        if (ch.type === "set") {
          expect(ch.entry!.version).toBeGreaterThan(last);
          last = ch.entry!.version;
          const v = ch.entry!.value;
          byVersion.set(last, typeof v === "number" ? null : (v as CrashValue).i);
          if (ch.key !== "counter") expect(isWhole(v)).toBe(true);
          if (ch.previous !== undefined) {
            const prior = lastOfKey.get(ch.key);
            if (prior !== undefined) expect(prior).toEqual({ type: "set", version: ch.previous.version });
          }
          lastOfKey.set(ch.key, { type: "set", version: last });
        } else {
          lastOfKey.set(ch.key, { type: "delete", version: 0 });
        }
      }
      for (const a of acks) {
        const op = opFor(a.w, a.i);
        if (op.kind === "delete") continue;
        expect(byVersion.has(a.x), `acknowledged v${a.x} missing from history`).toBe(true);
        if (op.kind !== "increment") expect(byVersion.get(a.x)).toBe(a.i);
      }
      for (const [key, want] of model) {
        const h = lastOfKey.get(key);
        if (want.i === null) expect(h === undefined || h.type === "delete").toBe(true);
        else expect(h).toEqual({ type: "set", version: want.version });
      }
      maxVersion = Math.max(maxVersion, last, ...runVersions);
      for (let w = 0; w < WRITERS; w++) next[w] = lastAcked[w]! + 2;
    } finally {
      await store.close();
    }
  }
  return stats;
}

describe("sqliteStore crash recovery", () => {
  it(`keeps every acknowledged write through ${LANES * KILLS_PER_LANE} SIGKILLs of a writing process`, async () => {
    const started = Date.now();
    const lanes = await Promise.all(Array.from({ length: LANES }, (_, l) => runLane(l)));
    const total = lanes.reduce((a, s) => ({
      kills: a.kills + s.kills,
      killedBeforeReady: a.killedBeforeReady + s.killedBeforeReady,
      acked: a.acked + s.acked,
      inFlightDurable: a.inFlightDurable + s.inFlightDurable,
      reopenChecks: a.reopenChecks + s.reopenChecks,
    }));
    expect(total.kills).toBe(LANES * KILLS_PER_LANE);
    // Half the kills wait for up to 15 acknowledgements: the runs do write.
    expect(total.acked).toBeGreaterThan(total.kills * 2);
    console.log(`crash test (seed ${SEED}, node ${process.version}): ${JSON.stringify(total)} in ${Date.now() - started} ms`);
    // About 35 s of CPU in all (child start-ups, mostly): ~20 s on two idle cores, minutes on a
    // loaded machine, hence the generous limit.
  }, 600_000);
});
