import type { CatalogEntry } from "../../agents/agent-group.js";
import type { NatsStateStore } from "./kv-store.js";

/**
 * One process's record of one agent name in the catalog bucket: the catalog entry plus where to
 * call it and who offers it. Stored under key `<name>\u0000<process>`.
 * @internal
 */
export interface CatalogRecord extends CatalogEntry {
  /** The subject that takes requests for `name`. */
  subject: string;
  /** The process offering these instances. */
  process: string;
  /** The record is rewritten this often (ms) while the process lives. */
  refreshMs: number;
}

interface Seen {
  record: CatalogRecord;
  /** Local wall-clock time the record was last written, as seen here. */
  at: number;
}

/**
 * The mesh's catalog on a KV bucket. Each process writes one record per agent name it serves
 * (with its live instance count) and rewrites it every `refreshMs`; every process mirrors the
 * bucket through a watch. A record not rewritten for three intervals belongs to a process that
 * died without saying so and is left out. Ages are measured on the reader's own clock, from
 * when it saw the write, so clock skew between machines does not matter.
 * @internal
 */
export class NatsCatalog {
  readonly #store: NatsStateStore;
  readonly #process: string;
  readonly #refreshMs: number;
  readonly #subjectOf: (name: string) => string;
  readonly #seen = new Map<string, Seen>();
  readonly #written = new Map<string, string>();
  #source: () => CatalogEntry[] = () => [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopWatch: () => void;
  #pending: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(store: NatsStateStore, processId: string, refreshMs: number, subjectOf: (name: string) => string) {
    this.#store = store;
    this.#process = processId;
    this.#refreshMs = refreshMs;
    this.#subjectOf = subjectOf;
    this.#stopWatch = store.watch(
      "*",
      (change) => {
        if (change.type === "delete") this.#seen.delete(change.key);
        else this.#seen.set(change.key, { record: change.entry!.value as CatalogRecord, at: Date.now() });
      },
      { includeCurrent: true },
    );
  }

  /** Where this process's own entries come from (the system's agent groups). */
  setSource(source: () => CatalogEntry[]): void {
    this.#source = source;
    if (this.#timer === undefined && !this.#closed) {
      this.#timer = setInterval(() => void this.#publish(true).catch(() => undefined), this.#refreshMs);
      this.#timer.unref();
    }
  }

  /** The local entries changed: write what differs. Resolves once written. */
  changed(): Promise<void> {
    return this.#publish(false);
  }

  /** Every live entry of the mesh, merged by name (instances summed), sorted by name. */
  list(): CatalogEntry[] {
    const now = Date.now();
    const byName = new Map<string, CatalogEntry>();
    for (const { record, at } of this.#seen.values()) {
      if (record.process !== this.#process && now - at > 3 * record.refreshMs) continue;
      const known = byName.get(record.name);
      if (known === undefined) {
        const entry: CatalogEntry = { name: record.name, description: record.description, capabilities: [...record.capabilities], instances: record.instances };
        if (record.inputSchema !== undefined) entry.inputSchema = record.inputSchema;
        if (record.outputSchema !== undefined) entry.outputSchema = record.outputSchema;
        byName.set(record.name, entry);
      } else {
        known.instances += record.instances;
      }
    }
    return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Removes this process's records and stops. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#pending.catch(() => undefined);
    for (const key of this.#written.keys()) await this.#store.delete(key).catch(() => undefined);
    this.#stopWatch();
  }

  #publish(refresh: boolean): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.#closed) return;
      const current = new Map<string, CatalogRecord>();
      for (const e of this.#source()) {
        current.set(`${e.name}\u0000${this.#process}`, { ...e, subject: this.#subjectOf(e.name), process: this.#process, refreshMs: this.#refreshMs });
      }
      for (const [key, record] of current) {
        const text = JSON.stringify(record);
        if (!refresh && this.#written.get(key) === text) continue;
        await this.#store.set(key, record, { by: this.#process });
        this.#written.set(key, text);
      }
      for (const key of [...this.#written.keys()]) {
        if (current.has(key)) continue;
        this.#written.delete(key);
        await this.#store.delete(key);
      }
    };
    const p = this.#pending.then(run, run);
    this.#pending = p.catch(() => undefined);
    return p;
  }
}
