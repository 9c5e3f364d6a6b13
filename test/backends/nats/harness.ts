import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, it } from "vitest";
import { requireNatsServer, startNatsServer, type NatsServer } from "./server.js";

/** What a NATS test file shares: one server (own port, own temp dir) and one connection. */
export interface NatsFixture {
  readonly server: NatsServer;
  readonly nc: NatsConnection;
  /** Opens another connection to the server, closed in afterAll. */
  connect(): Promise<NatsConnection>;
}

/**
 * Declares `body` when nats-server can run here (starting one for the file in beforeAll and
 * stopping it by pid in afterAll); otherwise, locally, one skipped suite saying how to install
 * it. In CI a missing binary throws: the file fails loudly.
 */
export function withNatsServer(name: string, body: (fixture: () => NatsFixture) => void): void {
  if (!requireNatsServer()) {
    // Reached only outside CI with no nats-server binary (in CI requireNatsServer throws, so
    // the file fails loudly): the skipped suite names the file and says how to install it.
    describe.skip(`${name} (nats-server is not installed: sudo apt-get install nats-server)`, () => {
      it("needs nats-server", () => undefined);
    });
    return;
  }
  let fixture: NatsFixture | undefined;
  const extra: NatsConnection[] = [];
  beforeAll(async () => {
    const server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    fixture = {
      server,
      nc,
      async connect() {
        const c = await connect({ servers: server.url });
        extra.push(c);
        return c;
      },
    };
  });
  afterAll(async () => {
    if (fixture === undefined) return;
    for (const c of [fixture.nc, ...extra]) await c.close().catch(() => undefined);
    await fixture.server.stop();
  });
  body(() => {
    if (fixture === undefined) throw new Error("the NATS fixture is only ready inside tests");
    return fixture;
  });
}

/**
 * Resolves with `probe()`'s value once `done(value)` holds, checking every 10 ms; rejects after
 * `timeoutMs` with the last value. For what other processes make visible (catalog, pub-sub).
 */
export async function eventually<T>(probe: () => T, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
