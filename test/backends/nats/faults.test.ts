import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { natsStateStore } from "../../../src/backends/nats/kv-store.js";
import { natsBackend } from "../../../src/backends/nats/index.js";
import { ClosedError, VersionConflictError } from "../../../src/errors.js";
import { createSystem } from "../../../src/index.js";
import type { StateChange } from "../../../src/state/types.js";
import { eventually, withNatsServer } from "./harness.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));

/**
 * Runs a read, again while it fails because the server is not answering yet (a restarting
 * JetStream times requests out): what it returns is asserted by the caller, unchanged.
 */
async function readWhileUp<T>(read: () => Promise<T>, deadline = Date.now() + 30_000): Promise<T> {
  for (;;) {
    try {
      return await read();
    } catch (err) {
      if (Date.now() > deadline || (err as { name?: string }).name !== "TimeoutError") throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Starts test/backends/nats/fixtures/worker.ts; resolves once it printed "ready". */
function startWorker(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/backends/nats/fixtures/worker.ts"], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (out += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${out}`)), 30_000);
    child.stdout.on("data", () => {
      if (out.includes("ready")) {
        clearTimeout(timer);
        resolve({ child, out: () => out });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${String(code)}:\n${out}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once("exit", () => resolve()));
}

withNatsServer("NATS backend faults", (fixture) => {
  describe("a worker process killed mid-task", () => {
    it("fails its caller fast, its lease frees the task's lock, and a retry is finished by another instance, the task worked once", async () => {
      const env = { NATS_URL: fixture().server.url, COVEY_MESH: "kill" };
      const caller = createSystem({ backend: await natsBackend({ servers: fixture().server.url, mesh: "kill", storage: "memory", heartbeatMs: 200 }) });
      const first = await startWorker(env);
      let second: Awaited<ReturnType<typeof startWorker>> | undefined;
      try {
        // Only the first worker serves "job" now: the call lands there and hangs in its handler.
        const call = caller.call("job", { id: "t1", hang: true }, { timeout: 60_000 }).catch((e: unknown) => e);
        await eventually(() => first.out(), (o) => o.includes("started t1"), 20_000);
        const killedAt = Date.now();
        process.kill(first.child.pid!, "SIGKILL");
        const err = await call;
        const noticedAfter = Date.now() - killedAt;
        expect(err).toBeInstanceOf(ClosedError);
        expect(noticedAfter).toBeLessThan(2_500);
        await exited(first.child);
        // Another instance takes the retry and finishes it; the task is done exactly once.
        second = await startWorker(env);
        expect(await caller.call("job", { id: "t1", hang: false }, { timeout: 20_000 })).toEqual({ id: "t1", done: true });
        // The killed worker's lease freed the task's lock: the second took it with a newer token,
        // and only that run finished.
        const started = (await caller.kv.get<number[]>("started:t1"))?.value;
        const done = (await caller.kv.get<number[]>("done:t1"))?.value;
        expect(started).toHaveLength(2);
        expect(started![1]!).toBeGreaterThan(started![0]!);
        expect(done).toEqual([started![1]]);
      } finally {
        if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill("SIGKILL");
        if (second !== undefined) {
          second.child.kill("SIGTERM");
          await exited(second.child);
        }
        await caller.shutdown();
      }
    }, 90_000);
  });

  describe("nats-server restarted mid-run (file storage)", () => {
    it("loses no acknowledged write, and a watch resumes with every change once, in order", async () => {
      const server = fixture().server;
      const opts = { servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 };
      const ncA: NatsConnection = await connect(opts);
      const ncB: NatsConnection = await connect(opts);
      const writer = await natsStateStore(ncA, { bucket: "restart", storage: "file" });
      const watcher = await natsStateStore(ncB, { bucket: "restart", storage: "file" });
      const seen: string[] = [];
      watcher.watch("k:*", (c: StateChange) => seen.push(`${c.key}=${String(c.entry?.value)}`));
      const N = 60;
      const acknowledged: string[] = [];
      let restarting: Promise<void> | undefined;
      try {
        for (let i = 0; i < N; i++) {
          // The restart runs while the writes go on: some of them meet the server down.
          if (i === N / 3) restarting = server.restart();
          // Retry until acknowledged; "must not exist" makes a retry of a write that did land
          // (its acknowledgement lost) a conflict, never a second write.
          for (;;) {
            try {
              await writer.set(`k:${i}`, i, { expectedVersion: 0 });
              break;
            } catch (err) {
              // The check of a conflict is a read, and a read can itself meet the server down.
              if (err instanceof VersionConflictError && (await readWhileUp(() => writer.get(`k:${i}`)))?.value === i) break;
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          }
          acknowledged.push(`k:${i}=${i}`);
        }
        expect(restarting).toBeDefined();
        await restarting;
        for (let i = 0; i < N; i++) expect((await readWhileUp(() => writer.get(`k:${i}`)))?.value).toBe(i);
        const log = await eventually(() => [...seen], (s) => s.length >= N, 30_000);
        expect(log).toEqual(acknowledged);
        expect(await watcher.keys("k:")).toHaveLength(N);
      } finally {
        await writer.close();
        await watcher.close();
        await ncA.close();
        await ncB.close();
      }
    }, 120_000);
  });
});
