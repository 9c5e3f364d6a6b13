/**
 * Who holds how many permits of a semaphore.
 * @internal
 */
export interface Holdings {
  /** Records one more permit for `agentId`. */
  add(agentId: string): void;
  /** Takes one permit from `agentId`; false if it holds none. */
  remove(agentId: string): boolean;
  /** Permits held by `agentId`. */
  count(agentId: string): number;
  /** Each holder with its permits, one entry per holder. */
  entries(): { agentId: string; permits: number }[];
  clear(): void;
}

/**
 * One slot per held permit, scanned linearly. With few permits a scan of a handful of
 * strings costs less than hashing into a Map on every acquire and release.
 */
class SlotHoldings implements Holdings {
  readonly #slots: string[] = [];

  add(agentId: string): void {
    this.#slots.push(agentId);
  }

  remove(agentId: string): boolean {
    const slots = this.#slots;
    const i = slots.lastIndexOf(agentId);
    if (i < 0) return false;
    const last = slots.pop()!;
    if (i < slots.length) slots[i] = last;
    return true;
  }

  count(agentId: string): number {
    let n = 0;
    for (const s of this.#slots) if (s === agentId) n++;
    return n;
  }

  entries(): { agentId: string; permits: number }[] {
    const counts = new Map<string, number>();
    for (const s of this.#slots) counts.set(s, (counts.get(s) ?? 0) + 1);
    return [...counts].map(([agentId, permits]) => ({ agentId, permits }));
  }

  clear(): void {
    this.#slots.length = 0;
  }
}

/** A count per agent, for semaphores with many permits. */
class CountHoldings implements Holdings {
  readonly #counts = new Map<string, number>();

  add(agentId: string): void {
    this.#counts.set(agentId, (this.#counts.get(agentId) ?? 0) + 1);
  }

  remove(agentId: string): boolean {
    const n = this.#counts.get(agentId);
    if (n === undefined) return false;
    if (n === 1) this.#counts.delete(agentId);
    else this.#counts.set(agentId, n - 1);
    return true;
  }

  count(agentId: string): number {
    return this.#counts.get(agentId) ?? 0;
  }

  entries(): { agentId: string; permits: number }[] {
    return [...this.#counts].map(([agentId, permits]) => ({ agentId, permits }));
  }

  clear(): void {
    this.#counts.clear();
  }
}

const SLOT_LIMIT = 16;

/** The cheaper bookkeeping for a semaphore of `maxPermits`. @internal */
export function createHoldings(maxPermits: number): Holdings {
  return maxPermits <= SLOT_LIMIT ? new SlotHoldings() : new CountHoldings();
}
