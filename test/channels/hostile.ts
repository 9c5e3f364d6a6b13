/** Values a careless or hostile handler can return or throw. Shared by the pub-sub and event bus tests. */

/** A Proxy whose every trap throws. */
export function trapProxy(): object {
  const boom = (): never => {
    throw new Error("trap");
  };
  return new Proxy(
    {},
    { get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom, set: boom, defineProperty: boom },
  );
}

/** An object whose `then` getter throws. */
export function throwingThenGetter(): object {
  return Object.defineProperty({}, "then", {
    get(): never {
      throw new Error("then getter");
    },
  });
}

/** A thenable whose `then` throws when called. */
export function throwingThen(): PromiseLike<void> {
  return {
    then(): never {
      throw new Error("then call");
    },
  } as PromiseLike<void>;
}

/** What a handler returns (`return`) or throws / rejects with (`throw`, `reject`). */
export const hostileOutcomes: readonly [string, () => unknown][] = [
  ["returns an object whose then getter throws", () => throwingThenGetter()],
  ["returns a Proxy whose traps throw", () => trapProxy()],
  ["returns a thenable whose then throws", () => throwingThen()],
  [
    "throws a Proxy whose traps throw",
    () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point: a hostile thrown value
      throw trapProxy();
    },
  ],
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the point: a hostile rejection reason
  ["rejects with a Proxy whose traps throw", () => Promise.reject(trapProxy())],
  [
    "throws an object whose then getter throws",
    () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point: a hostile thrown value
      throw throwingThenGetter();
    },
  ],
];

/** Collects unhandled rejections while `fn` runs and a few turns after. */
export async function unhandledRejectionsDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void seen.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    await fn();
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  return seen;
}
