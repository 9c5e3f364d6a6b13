import { describe, expect, it } from "vitest";
import { ClosedError, HandlerError, NoResponderError, TimeoutError, ValidationError, VersionConflictError } from "../../src/errors.js";
import type { Message } from "../../src/channels/message.js";
import type { RequestReplyChannel } from "../../src/channels/request-reply.js";
import type { RequestScope } from "../../src/channels/transport.js";

/** A subscriber failure as the handle's owner saw it reported. */
export interface Reported {
  readonly error: string;
  readonly topic: string | null;
}

/**
 * How a contract suite drives one backend: time, propagation and reports. In-process it runs
 * on a virtual clock; over NATS on real time with short timeouts. Nothing here sleeps for a
 * fixed time to synchronise: `run` waits for a promise, `until` for a condition.
 */
export interface ContractEnv {
  /** Waits until `p` settles, letting (virtual or real) time pass meanwhile. */
  run<T>(p: Promise<T>): Promise<T>;
  /** Waits until `cond()` holds (ready work runs, time passes), failing after a bound. */
  until(cond: () => boolean): Promise<void>;
  /** Resolves once every registration / subscription / removal made so far is in effect for the other handle. */
  propagated(): Promise<void>;
  /** The clock `timeout` options count on, in ms. */
  now(): number;
  /** How long after its due time a timeout may fire here (0 on a virtual clock). */
  readonly lateness: number;
  /** The handles are two processes' views of the channel (payloads cross a wire). */
  readonly remote: boolean;
  /** Payloads are checked to be JSON data (a test system, or a wire). */
  readonly checksPayloads: boolean;
  /** What was reported on the side of handle `side` (subscriber failures, lost messages). */
  reports(side: "a" | "b"): readonly Reported[];
  close(): Promise<void>;
}

/** Two handles on one request-reply channel. */
export interface RequestReplyEnv extends ContractEnv {
  readonly a: RequestReplyChannel;
  readonly b: RequestReplyChannel;
}

class QuotaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QuotaError";
  }
}

function never(): Promise<never> {
  return new Promise<never>(() => undefined);
}

/**
 * The request-reply contract of API.md, run against two handles of one channel: the same
 * in-process channel twice, or two processes' channels over a backend. Handlers sit on `a`,
 * callers on `b` unless a test says otherwise.
 */
export function requestReplyContract(name: string, factory: () => Promise<RequestReplyEnv>): void {
  async function withEnv(fn: (env: RequestReplyEnv) => Promise<void>): Promise<void> {
    const env = await factory();
    try {
      await fn(env);
    } finally {
      await env.close();
    }
  }

  describe(`request-reply contract: ${name}`, () => {
    it("answers a request with the handler's value and passes the message", () =>
      withEnv(async (env) => {
        let seen: Message | undefined;
        env.a.registerHandler("echo", async (m) => {
          seen = m;
          await Promise.resolve();
          return { got: m.payload };
        });
        await env.propagated();
        await expect(env.run(env.b.request("alice", "echo", { n: 42 }, { timeout: 2_000 }))).resolves.toEqual({ got: { n: 42 } });
        expect(seen).toMatchObject({ sender: "alice", recipient: "echo", pattern: "request_reply", payload: { n: 42 } });
        expect(typeof seen?.id).toBe("string");
      }));

    it("makes a queue group of several handlers on both sides: each request reaches exactly one", () =>
      withEnv(async (env) => {
        const seen: string[][] = [[], [], []];
        const handler = (i: number) => (m: Message) => {
          seen[i]!.push((m.payload as { id: string }).id);
          return i;
        };
        env.a.registerHandler("svc", handler(0));
        env.a.registerHandler("svc", handler(1));
        env.b.registerHandler("svc", handler(2));
        await env.propagated();
        const n = 60;
        const replies = await env.run(Promise.all(Array.from({ length: n }, (_, i) => env.b.request<number>("c", "svc", { id: `r${i}` }, { timeout: 5_000 }))));
        const all = seen.flat();
        expect(all).toHaveLength(n);
        expect(new Set(all).size).toBe(n);
        // Every member took a share, so requests spread over both sides.
        for (const list of seen) expect(list.length).toBeGreaterThan(0);
        // Each reply came from the member that saw the request.
        replies.forEach((who, i) => expect(seen[who]).toContain(`r${i}`));
      }));

    it("rejects with NoResponderError at once when nobody handles the recipient", () =>
      withEnv(async (env) => {
        const started = env.now();
        const err: unknown = await env.run(env.b.request("c", "nobody.home", 1, { timeout: 10_000 })).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NoResponderError);
        expect((err as NoResponderError).subject).toBe("nobody.home");
        expect(env.now() - started).toBeLessThanOrEqual(env.lateness);
      }));

    it("rejects with TimeoutError after the timeout, and the handler's scope sees the caller give up", () =>
      withEnv(async (env) => {
        let scope: RequestScope | undefined;
        let ended: { cancelled: boolean; reason: unknown } | undefined;
        env.a.registerHandler("slow", (_m, s) => {
          scope = s;
          if (s !== undefined) s.onEnd = (cancelled, reason) => (ended = { cancelled, reason });
          return never();
        });
        await env.propagated();
        const started = env.now();
        const err: unknown = await env.run(env.b.request("c", "slow", null, { timeout: 300 })).catch((e: unknown) => e);
        const elapsed = env.now() - started;
        expect(err).toBeInstanceOf(TimeoutError);
        expect((err as TimeoutError).timeout).toBe(300);
        expect(elapsed).toBeGreaterThanOrEqual(300);
        expect(elapsed).toBeLessThanOrEqual(300 + env.lateness);
        expect(scope?.deadlineAt).toBeLessThanOrEqual(started + 300 + env.lateness);
        await env.until(() => ended !== undefined);
        expect(ended!.cancelled).toBe(true);
        expect(ended!.reason).toBeInstanceOf(TimeoutError);
        expect(env.b.inFlight).toBe(0);
      }));

    it("rejects with the signal's reason, unchanged, when the caller aborts; the cancellation reaches the handler", () =>
      withEnv(async (env) => {
        let started = false;
        let ended: { cancelled: boolean } | undefined;
        env.a.registerHandler("slow", (_m, s) => {
          started = true;
          if (s !== undefined) s.onEnd = (cancelled) => (ended = { cancelled });
          return never();
        });
        await env.propagated();
        const ac = new AbortController();
        const reason = { why: "user left" };
        const p = env.b.request("c", "slow", null, { timeout: 10_000, signal: ac.signal });
        const outcome = p.catch((e: unknown) => e);
        await env.until(() => started);
        ac.abort(reason);
        expect(await env.run(outcome)).toBe(reason);
        await env.until(() => ended !== undefined);
        expect(ended!.cancelled).toBe(true);
        // An already-aborted signal rejects before anything is sent.
        await expect(env.b.request("c", "slow", null, { signal: ac.signal })).rejects.toBe(reason);
      }));

    it("reports a throwing handler as HandlerError whose cause keeps the message and class name", () =>
      withEnv(async (env) => {
        env.a.registerHandler("fails", () => {
          throw new QuotaError("quota of 3 exceeded");
        });
        env.a.registerHandler("rejects", () => Promise.reject(new RangeError("too long")));
        env.a.registerHandler("conflicts", () => Promise.reject(new VersionConflictError("plan", 3, 4)));
        await env.propagated();
        const thrown: unknown = await env.run(env.b.request("c", "fails", null, { timeout: 2_000 })).catch((e: unknown) => e);
        expect(thrown).toBeInstanceOf(HandlerError);
        const cause = (thrown as HandlerError).cause as Error;
        expect(cause).toBeInstanceOf(Error);
        expect(cause.name).toBe("QuotaError");
        expect(cause.message).toBe("quota of 3 exceeded");
        expect((thrown as HandlerError).message).toContain("quota of 3 exceeded");
        const rejected: unknown = await env.run(env.b.request("c", "rejects", null, { timeout: 2_000 })).catch((e: unknown) => e);
        expect(rejected).toBeInstanceOf(HandlerError);
        expect((rejected as HandlerError).cause).toBeInstanceOf(RangeError);
        expect(((rejected as HandlerError).cause as Error).message).toBe("too long");
        // A covey error a handler lets through keeps its name, code and message.
        const conflict: unknown = await env.run(env.b.request("c", "conflicts", null, { timeout: 2_000 })).catch((e: unknown) => e);
        expect(conflict).toBeInstanceOf(HandlerError);
        const conflictCause = (conflict as HandlerError).cause as Error & { code?: unknown };
        expect(conflictCause.name).toBe("VersionConflictError");
        expect(conflictCause.code).toBe("VERSION_CONFLICT");
        expect(conflictCause.message).toBe(new VersionConflictError("plan", 3, 4).message);
      }));

    it("rejects bad arguments with ValidationError", () =>
      withEnv(async (env) => {
        await expect(env.b.request("c", "", 1)).rejects.toBeInstanceOf(ValidationError);
        await expect(env.b.request("", "x", 1)).rejects.toBeInstanceOf(ValidationError);
        await expect(env.b.request("c", "x", 1, { timeout: -5 })).rejects.toBeInstanceOf(ValidationError);
        expect(() => env.a.registerHandler("", () => 1)).toThrow(ValidationError);
        expect(() => env.a.registerHandler("x", 42 as never)).toThrow(ValidationError);
      }));

    it("rejects a payload that is not JSON data where payloads are checked, and passes it by reference where not", () =>
      withEnv(async (env) => {
        let got: unknown;
        env.a.registerHandler("take", (m) => {
          got = m.payload;
          return "ok";
        });
        await env.propagated();
        const payload = { big: 10n };
        const p = env.run(env.b.request("c", "take", payload, { timeout: 2_000 }));
        if (env.checksPayloads) {
          await expect(p).rejects.toBeInstanceOf(ValidationError);
          expect(got).toBeUndefined();
        } else {
          await expect(p).resolves.toBe("ok");
          expect(got).toBe(payload);
        }
      }));

    it("reports a reply that is not JSON data as HandlerError with a ValidationError cause where payloads are checked", () =>
      withEnv(async (env) => {
        const cyclic: Record<string, unknown> = {};
        cyclic["self"] = cyclic;
        env.a.registerHandler("cyclic", () => cyclic);
        await env.propagated();
        const p = env.run(env.b.request("c", "cyclic", null, { timeout: 2_000 }));
        if (env.checksPayloads) {
          const err: unknown = await p.catch((e: unknown) => e);
          expect(err).toBeInstanceOf(HandlerError);
          expect((err as HandlerError).cause).toBeInstanceOf(ValidationError);
        } else {
          await expect(p).resolves.toBe(cyclic);
        }
      }));

    it("unregisters exactly one handler, idempotently; the last one gone means NoResponderError", () =>
      withEnv(async (env) => {
        const offFirst = env.a.registerHandler("u", () => "first");
        const offSecond = env.a.registerHandler("u", () => "second");
        await env.propagated();
        offFirst();
        offFirst();
        await env.propagated();
        for (let i = 0; i < 4; i++) expect(await env.run(env.b.request("c", "u", i, { timeout: 2_000 }))).toBe("second");
        offSecond();
        await env.propagated();
        await expect(env.run(env.b.request("c", "u", 0, { timeout: 10_000 }))).rejects.toBeInstanceOf(NoResponderError);
      }));

    it("rejects a pending request with ClosedError when the caller's channel closes, and later calls too", () =>
      withEnv(async (env) => {
        let started = false;
        env.a.registerHandler("slow", () => {
          started = true;
          return never();
        });
        await env.propagated();
        const outcome = env.b.request("c", "slow", null, { timeout: 10_000 }).catch((e: unknown) => e);
        await env.until(() => started);
        env.b.close();
        expect(await env.run(outcome)).toBeInstanceOf(ClosedError);
        await expect(env.b.request("c", "slow", null)).rejects.toBeInstanceOf(ClosedError);
        expect(() => env.b.registerHandler("x", () => 1)).toThrow(ClosedError);
      }));
  });
}
