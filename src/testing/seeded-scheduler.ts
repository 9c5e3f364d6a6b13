import { LaneOrder, type DeliveryKind, type Scheduler } from "../runtime/scheduler.js";

/**
 * A small, fast, seedable PRNG (mulberry32). Same seed, same sequence.
 * @internal
 */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derives the i-th run seed from a base seed (splitmix-style mixing). @internal */
export function deriveSeed(base: number, i: number): number {
  let z = (Math.imul(base >>> 0, 0x9e3779b1) + Math.imul(i + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

interface Pending {
  readonly kind: DeliveryKind;
  readonly fn: () => void;
  readonly to: string | undefined;
}

/** Faults a seeded scheduler injects, all decided by its seeded generator. */
export interface DeliveryFaults {
  /** Delays each delivery by a virtual time drawn from [min, max] ms. */
  delay?: { min: number; max: number; kinds?: DeliveryKind[] };
  /** Fraction (0..1) of publications to drop. A dropped publication's handler never runs. */
  dropPublications?: number;
}

/**
 * A scheduler that runs one ready delivery per macrotask turn, picking which one with a
 * seeded generator: the same seed gives the same interleaving, other seeds give others.
 * Between two deliveries every promise callback settles, so each delivery sees the effects
 * of the ones before it, as concurrent parties would.
 * @internal
 */
export class SeededScheduler implements Scheduler {
  readonly #random: () => number;
  readonly #ready: Pending[] = [];
  readonly #faults: DeliveryFaults;
  readonly #setTimer: ((fn: () => void, ms: number) => void) | undefined;
  readonly #lanes = new LaneOrder();
  readonly #wrap: ((fn: () => void) => void) | undefined;
  #pumping = false;

  /**
   * @param opts - `faults` to inject; `setTimer` arms the virtual timers of delays; `wrap` runs
   * each delivery (a test system runs it outside any agent's async context).
   */
  constructor(
    seed: number,
    opts: { faults?: DeliveryFaults; setTimer?: (fn: () => void, ms: number) => void; wrap?: (fn: () => void) => void } = {},
  ) {
    this.#random = createRandom(seed);
    this.#faults = opts.faults ?? {};
    this.#setTimer = opts.setTimer;
    this.#wrap = opts.wrap;
  }

  /**
   * Deliveries ready to run now. Not counted: ones held back by an injected delay (they wait
   * for the clock), and ones queued in a lane behind an earlier delivery (they follow it as
   * soon as it runs). Counting a delivery parked behind a delayed one would make every
   * `settle` wait for work that only the clock can release.
   */
  get pending(): number {
    return this.#ready.length;
  }

  /** Deliveries queued in a lane behind an earlier one of the same lane. */
  get parked(): number {
    return this.#lanes.waiting;
  }

  /** The scheduler's seeded generator, for other seeded choices of the same run. */
  random(): number {
    return this.#random();
  }

  deliver(kind: DeliveryKind, fn: () => void, to?: string, lane?: unknown): void {
    const faults = this.#faults;
    if (kind === "publish" && faults.dropPublications !== undefined && this.#random() < faults.dropPublications) {
      return;
    }
    if (lane === undefined) this.#admit(kind, fn, to);
    else this.#lanes.submit(lane, fn, (inLane) => this.#admit(kind, inLane, to));
  }

  // A delivery whose turn has come: delayed by an injected fault, or ready now.
  #admit(kind: DeliveryKind, fn: () => void, to: string | undefined): void {
    const delay = this.#faults.delay;
    if (delay !== undefined && this.#setTimer !== undefined && (delay.kinds === undefined || delay.kinds.includes(kind))) {
      const ms = delay.min + Math.floor(this.#random() * (delay.max - delay.min + 1));
      if (ms > 0) {
        this.#setTimer(() => this.#enqueue({ kind, fn, to }), ms);
        return;
      }
    }
    this.#enqueue({ kind, fn, to });
  }

  #enqueue(p: Pending): void {
    this.#ready.push(p);
    if (!this.#pumping) {
      this.#pumping = true;
      setImmediate(this.#pump);
    }
  }

  readonly #pump = (): void => {
    const ready = this.#ready;
    if (ready.length === 0) {
      this.#pumping = false;
      return;
    }
    const i = ready.length === 1 ? 0 : Math.floor(this.#random() * ready.length);
    const [next] = ready.splice(i, 1);
    try {
      if (this.#wrap === undefined) next!.fn();
      else this.#wrap(next!.fn);
    } finally {
      if (ready.length > 0) setImmediate(this.#pump);
      else this.#pumping = false;
    }
  };
}
