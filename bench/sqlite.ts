/**
 * What durability costs: covey's SQLite store (`system.kv` on `sqliteStore`) against raw SQLite
 * statements with the same durability settings (WAL, synchronous = FULL, exclusive locking), and
 * against the in-memory store, in the same process, alternating rounds.
 *
 *   npx tsx bench/sqlite.ts            full run (about a minute)
 *   npx tsx bench/sqlite.ts --quick    smoke run
 *   npx -y -p node@22 node --import tsx bench/sqlite.ts   the same on node:sqlite
 *
 * Prints a markdown table. Raw SQLite is synchronous: one writer or eight, each write is its own
 * transaction and fsync (the baseline a program gets by calling the driver per write). The
 * "batched by hand" rows commit eight writes per transaction, the best a program can do when it
 * batches writes itself; covey's group commit is measured against both.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type SqlDatabase } from "../src/backends/sqlite/driver.js";
import { sqliteStore, type SqliteStore } from "../src/backends/sqlite/index.js";
import { createSystem, type MultiAgentSystem } from "../src/index.js";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 1 : 3;
/** Operations per writer per measured sample. */
const SINGLE_OPS = quick ? 40 : 250;
const WRITERS = 8;
const PER_WRITER = quick ? 10 : 60;

interface Value {
  n: number;
  by: string;
  tags: string[];
}
const valueOf = (n: number, by: string): Value => ({ n, by, tags: ["plan", "task"] });

const dir = mkdtempSync(join(tmpdir(), "covey-bench-sqlite-"));
let files = 0;
const nextFile = (): string => join(dir, `b${files++}.db`);

async function rawDb(): Promise<SqlDatabase> {
  const db = await openDatabase(nextFile());
  db.exec("PRAGMA locking_mode = EXCLUSIVE");
  db.prepare("PRAGMA journal_mode = WAL").get();
  db.exec("PRAGMA synchronous = FULL");
  db.exec("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID");
  return db;
}

/** A raw key-value table with an upsert and a version-checked read-modify-write. */
class Raw {
  readonly db: SqlDatabase;
  readonly #upsert;
  readonly #select;
  readonly #update;
  constructor(db: SqlDatabase) {
    this.db = db;
    this.#upsert = db.prepare("INSERT INTO kv (key, value, version) VALUES (?, ?, 1) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = version + 1");
    this.#select = db.prepare("SELECT value, version FROM kv WHERE key = ?");
    this.#update = db.prepare("UPDATE kv SET value = ?, version = version + 1 WHERE key = ? AND version = ?");
  }
  set(key: string, value: Value): void {
    this.#upsert.run(key, JSON.stringify(value));
  }
  /** Read, change, write back only if the version is still the one read. */
  update(key: string, by: string): void {
    const row = this.#select.get(key)!;
    const v = JSON.parse(row["value"] as string) as Value;
    v.n++;
    v.by = by;
    this.#update.run(JSON.stringify(v), key, row["version"] as number);
  }
}

interface Durable {
  store: SqliteStore;
  system: MultiAgentSystem;
}
async function durable(historyLimit?: number): Promise<Durable> {
  const store = await sqliteStore(nextFile(), historyLimit === undefined ? {} : { historyLimit });
  return { store, system: createSystem({ store, trackActiveAgents: false }) };
}

type Sample = () => Promise<number>; // returns operations done

/** Median ns per operation of `run` over `ROUNDS`, interleaved with the other cases by the caller. */
async function time(run: Sample): Promise<number> {
  const t0 = process.hrtime.bigint();
  const ops = await run();
  return Number(process.hrtime.bigint() - t0) / ops;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const raw = new Raw(await rawDb());
  const d = await durable();
  // Without the change log: what history (and watch fromVersion across restarts) costs a commit.
  const bare = await durable(0);
  const mem = createSystem({ trackActiveAgents: false });
  const kv = d.system.kv;
  for (let w = 0; w < WRITERS; w++) {
    raw.set(`k${w}`, valueOf(0, "init"));
    await kv.set(`k${w}`, valueOf(0, "init"));
    await bare.system.kv.set(`k${w}`, valueOf(0, "init"));
    await mem.kv.set(`k${w}`, valueOf(0, "init"));
  }
  let seq = 0;

  const cases: Record<string, Sample> = {
    "raw set, 1 writer": async () => {
      for (let i = 0; i < SINGLE_OPS; i++) raw.set("k0", valueOf(seq++, "w0"));
      return SINGLE_OPS;
    },
    "kv.set, 1 writer": async () => {
      for (let i = 0; i < SINGLE_OPS; i++) await kv.set("k0", valueOf(seq++, "w0"));
      return SINGLE_OPS;
    },
    "kv.set, 1 writer, historyLimit 0": async () => {
      for (let i = 0; i < SINGLE_OPS; i++) await bare.system.kv.set("k0", valueOf(seq++, "w0"));
      return SINGLE_OPS;
    },
    "raw update, 1 writer": async () => {
      for (let i = 0; i < SINGLE_OPS; i++) raw.update("k0", "w0");
      return SINGLE_OPS;
    },
    "kv.update, 1 writer": async () => {
      for (let i = 0; i < SINGLE_OPS; i++) {
        await kv.update<Value>("k0", (v) => {
          v.n++;
          v.by = "w0";
        }, { exists: true });
      }
      return SINGLE_OPS;
    },
    "raw set, 8 writers (a commit each)": async () => {
      for (let i = 0; i < PER_WRITER; i++) for (let w = 0; w < WRITERS; w++) raw.set(`k${w}`, valueOf(seq++, `w${w}`));
      return PER_WRITER * WRITERS;
    },
    "raw set, 8 writers batched by hand": async () => {
      for (let i = 0; i < PER_WRITER; i++) {
        raw.db.exec("BEGIN IMMEDIATE");
        for (let w = 0; w < WRITERS; w++) raw.set(`k${w}`, valueOf(seq++, `w${w}`));
        raw.db.exec("COMMIT");
      }
      return PER_WRITER * WRITERS;
    },
    "kv.set, 8 writers": async () => {
      await Promise.all(
        Array.from({ length: WRITERS }, async (_, w) => {
          for (let i = 0; i < PER_WRITER; i++) await kv.set(`k${w}`, valueOf(seq++, `w${w}`));
        }),
      );
      return PER_WRITER * WRITERS;
    },
    "raw update, 8 writers (a commit each)": async () => {
      for (let i = 0; i < PER_WRITER; i++) for (let w = 0; w < WRITERS; w++) raw.update(`k${w}`, `w${w}`);
      return PER_WRITER * WRITERS;
    },
    "raw update, 8 writers batched by hand": async () => {
      for (let i = 0; i < PER_WRITER; i++) {
        raw.db.exec("BEGIN IMMEDIATE");
        for (let w = 0; w < WRITERS; w++) raw.update(`k${w}`, `w${w}`);
        raw.db.exec("COMMIT");
      }
      return PER_WRITER * WRITERS;
    },
    "kv.update, 8 writers": async () => {
      await Promise.all(
        Array.from({ length: WRITERS }, async (_, w) => {
          for (let i = 0; i < PER_WRITER; i++) {
            await kv.update<Value>(`k${w}`, (v) => {
              v.n++;
              v.by = `w${w}`;
            }, { exists: true });
          }
        }),
      );
      return PER_WRITER * WRITERS;
    },
    "kv.update, 8 writers on one key": async () => {
      await Promise.all(
        Array.from({ length: WRITERS }, async (_, w) => {
          for (let i = 0; i < PER_WRITER; i++) {
            await kv.update<Value>("k0", (v) => {
              v.n++;
              v.by = `w${w}`;
            }, { exists: true, maxRetries: 100 });
          }
        }),
      );
      return PER_WRITER * WRITERS;
    },
    "in-memory kv.set, 1 writer": async () => {
      const n = SINGLE_OPS * 40;
      for (let i = 0; i < n; i++) await mem.kv.set("k0", valueOf(seq++, "w0"));
      return n;
    },
    "in-memory kv.update, 1 writer": async () => {
      const n = SINGLE_OPS * 40;
      for (let i = 0; i < n; i++) {
        await mem.kv.update<Value>("k0", (v) => {
          v.n++;
          v.by = "w0";
        }, { exists: true });
      }
      return n;
    },
    "in-memory kv.set, 8 writers": async () => {
      const n = PER_WRITER * 40;
      await Promise.all(
        Array.from({ length: WRITERS }, async (_, w) => {
          for (let i = 0; i < n; i++) await mem.kv.set(`k${w}`, valueOf(seq++, `w${w}`));
        }),
      );
      return n * WRITERS;
    },
  };

  // Warm-up, then alternating rounds (the order rotates each round).
  const names = Object.keys(cases);
  for (const name of names) await cases[name]!();
  const samples = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]!);
    for (const name of order) samples.get(name)!.push(await time(cases[name]!));
  }
  const ns = (name: string): number => median(samples.get(name)!);
  const perSec = (name: string): string => {
    const v = 1e9 / ns(name);
    return v >= 1e5 ? `${(v / 1e3).toFixed(0)}k/s` : `${v.toFixed(0)}/s`;
  };
  const us = (name: string): string => {
    const v = ns(name) / 1e3;
    return v >= 100 ? `${v.toFixed(0)} µs` : `${v.toFixed(2)} µs`;
  };

  console.log(`node ${process.version}, driver ${d.store.driver}, load ${loadavg()[0]!.toFixed(2)} (1 min) on a 2-core machine, ${ROUNDS} rounds\n`);
  console.log("| case | per op | rate |");
  console.log("|---|---|---|");
  for (const name of names) console.log(`| ${name} | ${us(name)} | ${perSec(name)} |`);
  console.log(`\nstore commits: ${d.store.stats.commits} for ${d.store.stats.changes} changes\n`);

  const ratio = (a: string, b: string): number => ns(a) / ns(b);
  const rows: [string, string, string, number | undefined][] = [
    ["kv.set, 1 writer", "raw set, 1 writer", "<= 1.3x", 1.3],
    ["kv.set, 1 writer, historyLimit 0", "raw set, 1 writer", "(informative: no change log)", undefined],
    ["kv.update, 1 writer", "raw update, 1 writer", "<= 1.3x", 1.3],
    ["kv.set, 8 writers", "raw set, 8 writers (a commit each)", "<= 1.3x", 1.3],
    ["kv.update, 8 writers", "raw update, 8 writers (a commit each)", "<= 1.3x", 1.3],
    ["kv.set, 8 writers", "raw set, 8 writers batched by hand", "<= 1.3x", 1.3],
    ["kv.update, 8 writers", "raw update, 8 writers batched by hand", "<= 1.3x", 1.3],
    ["kv.set, 1 writer", "in-memory kv.set, 1 writer", "(what durability costs)", undefined],
    ["kv.update, 1 writer", "in-memory kv.update, 1 writer", "(what durability costs)", undefined],
    ["kv.set, 8 writers", "in-memory kv.set, 8 writers", "(what durability costs)", undefined],
  ];
  console.log("| covey | against | ratio (time per op) | target | |");
  console.log("|---|---|---|---|---|");
  for (const [a, b, target, max] of rows) {
    const x = ratio(a, b);
    const verdict = max === undefined ? "" : x <= max ? "met" : "**missed**";
    console.log(`| ${a} | ${b} | ${x >= 10 ? x.toFixed(0) : x.toFixed(2)}x | ${target} | ${verdict} |`);
  }

  await d.system.shutdown();
  await d.store.close();
  await bare.system.shutdown();
  await bare.store.close();
  await mem.shutdown();
  raw.db.close();
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
