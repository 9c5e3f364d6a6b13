/**
 * What a user would write instead of a request/reply layer: a Map of pending requests holding
 * each caller's resolve/reject, the handler called directly, and (like any real request API)
 * one `setTimeout` per request for its timeout, cleared when the reply arrives.
 */
type Handler = (payload: unknown) => unknown;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class RequestReplyEmulation {
  readonly #handlers = new Map<string, Handler>();
  readonly #pending = new Map<number, Pending>();
  readonly #timers: boolean;
  #seq = 0;

  /** `timers: false` drops the per-request timer (the bare stored-resolver cost). */
  constructor(opts: { timers?: boolean } = {}) {
    this.#timers = opts.timers ?? true;
  }

  register(name: string, handler: Handler): void {
    this.#handlers.set(name, handler);
  }

  get pending(): number {
    return this.#pending.size;
  }

  request(name: string, payload: unknown, timeout = 30_000): Promise<unknown> {
    const handler = this.#handlers.get(name);
    if (handler === undefined) return Promise.reject(new Error(`no responder for ${name}`));
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timer = this.#timers
        ? setTimeout(() => {
            this.#pending.delete(id);
            reject(new Error(`request to ${name} timed out after ${timeout}ms`));
          }, timeout)
        : undefined;
      this.#pending.set(id, { resolve, reject, timer });
      void this.#dispatch(id, handler, payload);
    });
  }

  async #dispatch(id: number, handler: Handler, payload: unknown): Promise<void> {
    let ok = true;
    let result: unknown;
    try {
      result = await handler(payload);
    } catch (err) {
      ok = false;
      result = err;
    }
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (ok) p.resolve(result);
    else p.reject(result);
  }
}
