import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A nats-server started for one test file: JetStream on, file storage in a temp dir, a free
 * loopback port. Stop it with {@link NatsServer.stop} (by pid) in `afterAll`.
 */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** The JetStream store directory (kept across {@link restart}). */
  readonly storeDir: string;
  /** Kills the server (SIGKILL when `hard`), waits for it to exit; the store dir is kept. */
  kill(hard?: boolean): Promise<void>;
  /** Starts the server again on the same port and store dir. */
  restart(): Promise<void>;
  /** Kills the server and removes its store dir. Idempotent. */
  stop(): Promise<void>;
}

const BINARY = process.env["NATS_SERVER"] ?? "nats-server";

/** Whether the nats-server binary can be run here. */
export function natsServerAvailable(): boolean {
  const r = spawnSync(BINARY, ["--version"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

/**
 * What a test file does when the binary is missing: in CI (`process.env.CI`) throw, so the
 * suite fails loudly; locally print one line on how to install it and skip.
 * @returns true when the NATS tests can run
 */
export function requireNatsServer(): boolean {
  if (natsServerAvailable()) return true;
  const line = `nats-server not found: install it (Debian/Ubuntu: sudo apt-get install nats-server; or https://github.com/nats-io/nats-server/releases) or set NATS_SERVER to its path`;
  if (process.env["CI"] !== undefined && process.env["CI"] !== "" && process.env["CI"] !== "false") throw new Error(line);
  console.warn(`[covey] skipping the NATS backend tests: ${line}`);
  return false;
}

function launch(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BINARY, args, { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    const timer = setTimeout(() => fail(new Error(`nats-server did not start within 10 s:\n${log}`)), 10_000);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(error);
    };
    child.once("error", fail);
    child.once("exit", (code) => fail(new Error(`nats-server exited with ${String(code)}:\n${log}`)));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      log += chunk;
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(log);
      if (m !== null) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        child.removeAllListeners("error");
        // Keep draining its log so the pipe never fills.
        child.stderr.removeAllListeners("data");
        child.stderr.resume();
        resolve({ child, port: Number(m[1]) });
      }
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/**
 * Starts `nats-server -a 127.0.0.1 -p <free port> -js -sd <temp dir>` and resolves once it
 * listens.
 * @example
 * ```ts
 * let server: NatsServer;
 * beforeAll(async () => { server = await startNatsServer(); });
 * afterAll(() => server.stop());
 * ```
 */
export async function startNatsServer(): Promise<NatsServer> {
  const storeDir = mkdtempSync(join(tmpdir(), "covey-nats-"));
  let { child, port } = await launch(["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", storeDir]);
  let stopped = false;
  const server: NatsServer = {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get pid() {
      return child.pid!;
    },
    storeDir,
    async kill(hard = false) {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, hard ? "SIGKILL" : "SIGTERM");
      await exited(child);
    },
    async restart() {
      await server.kill();
      ({ child, port } = await launch(["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir]));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.kill(true);
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
  return server;
}
