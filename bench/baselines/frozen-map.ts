/** The cheapest honest store: a Map of shallow frozen copies (no versions, no history, no checks). */
export class FrozenMap {
  readonly #map = new Map<string, unknown>();

  set(key: string, value: Record<string, unknown>): void {
    this.#map.set(key, Object.freeze({ ...value }));
  }

  get size(): number {
    return this.#map.size;
  }
}
