import { checksumOf } from "../../state/checksum.js";
import { toStoredValue } from "../../state/json-value.js";
import type { StateEntry } from "../../state/types.js";

const decoder = new TextDecoder();

/** The stored form of a value in the bucket (docs/wire.md, "State"). @internal */
export interface Envelope {
  value: unknown;
  updatedBy: string;
  timestamp: number;
}

/** Whether `v` is an {@link Envelope}. @internal */
export function isEnvelope(v: unknown): v is Envelope {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return Object.hasOwn(o, "value") && typeof o["updatedBy"] === "string" && typeof o["timestamp"] === "number";
}

/**
 * The value, writer and time a stored payload holds; a payload another client wrote without
 * the envelope is its JSON (or text) value, written by `"nats"` at the server's time.
 * @internal
 */
export function decodePayload(key: string, data: Uint8Array, serverTime: number): Envelope {
  const text = decoder.decode(data);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: kept as the text it is.
  }
  if (isEnvelope(parsed)) return { value: toStoredValue(parsed.value, Infinity, key), updatedBy: parsed.updatedBy, timestamp: parsed.timestamp };
  return { value: toStoredValue(parsed, Infinity, key), updatedBy: "nats", timestamp: serverTime };
}

/**
 * An entry the store's feed received, decoded on first read: a process that follows a busy
 * bucket pays for parsing only the entries someone looks at (a watcher, `history()`, a
 * change's `previous`). Read-only and frozen like every entry.
 * @internal
 */
export class LazyEntry implements StateEntry {
  readonly key: string;
  readonly version: number;
  #data: Uint8Array | undefined;
  readonly #serverTime: number;
  #decoded: Envelope | undefined;
  #checksum: string | undefined;

  constructor(key: string, version: number, data: Uint8Array, serverTime: number) {
    this.key = key;
    this.version = version;
    this.#data = data;
    this.#serverTime = serverTime;
    Object.freeze(this);
  }

  get value(): unknown {
    return this.#envelope().value;
  }

  get timestamp(): number {
    return this.#envelope().timestamp;
  }

  get updatedBy(): string {
    return this.#envelope().updatedBy;
  }

  get checksum(): string {
    return (this.#checksum ??= checksumOf(this.value));
  }

  toJSON(): { key: string; value: unknown; version: number; timestamp: number; updatedBy: string; checksum: string } {
    return { key: this.key, value: this.value, version: this.version, timestamp: this.timestamp, updatedBy: this.updatedBy, checksum: this.checksum };
  }

  #envelope(): Envelope {
    if (this.#decoded === undefined) {
      this.#decoded = decodePayload(this.key, this.#data!, this.#serverTime);
      this.#data = undefined;
    }
    return this.#decoded;
  }
}
