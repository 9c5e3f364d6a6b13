import type { MessageHandler } from "./message.js";

/** One subscription: a topic pattern and its handler. @internal */
export class Subscription {
  readonly topic: string;
  readonly handler: MessageHandler;
  /** Subscription order; matches are delivered in it. */
  readonly seq: number;
  active = true;

  constructor(topic: string, handler: MessageHandler, seq: number) {
    this.topic = topic;
    this.handler = handler;
    this.seq = seq;
  }
}

class TrieNode {
  readonly children = new Map<string, TrieNode>();
  star: TrieNode | undefined;
  /** Subscriptions whose pattern ends at this node. */
  readonly exact: Subscription[] = [];
  /** Subscriptions whose pattern ends with `>` right after this node. */
  readonly rest: Subscription[] = [];

  get empty(): boolean {
    return this.children.size === 0 && this.star === undefined && this.exact.length === 0 && this.rest.length === 0;
  }
}

const EMPTY: readonly Subscription[] = Object.freeze([]);

/**
 * Subscriptions indexed by topic token, so matching a topic walks only the branches its
 * tokens (or a wildcard) lead to instead of testing every subscription. Matches are cached
 * per published topic; any subscribe or unsubscribe drops the cache.
 * @internal
 */
export class TopicTrie {
  readonly #root = new TrieNode();
  readonly #cache = new Map<string, readonly Subscription[]>();
  readonly #cacheLimit: number;
  #size = 0;

  constructor(cacheLimit = 10_000) {
    this.#cacheLimit = cacheLimit;
  }

  /** Number of subscriptions. */
  get size(): number {
    return this.#size;
  }

  add(tokens: readonly string[], sub: Subscription): void {
    let node = this.#root;
    const last = tokens.length - 1;
    for (let i = 0; i <= last; i++) {
      const t = tokens[i]!;
      if (t === ">" && i === last) {
        node.rest.push(sub);
        this.#changed(1);
        return;
      }
      let next: TrieNode | undefined;
      if (t === "*") next = node.star ??= new TrieNode();
      else {
        next = node.children.get(t);
        if (next === undefined) {
          next = new TrieNode();
          node.children.set(t, next);
        }
      }
      node = next;
    }
    node.exact.push(sub);
    this.#changed(1);
  }

  /** Removes `sub`; prunes branches left empty. */
  remove(tokens: readonly string[], sub: Subscription): boolean {
    const path: TrieNode[] = [this.#root];
    let node = this.#root;
    const last = tokens.length - 1;
    let list: Subscription[] | undefined;
    for (let i = 0; i <= last && list === undefined; i++) {
      const t = tokens[i]!;
      if (t === ">" && i === last) {
        list = node.rest;
        break;
      }
      const next = t === "*" ? node.star : node.children.get(t);
      if (next === undefined) return false;
      node = next;
      path.push(node);
    }
    list ??= node.exact;
    const i = list.indexOf(sub);
    if (i < 0) return false;
    list.splice(i, 1);
    for (let d = path.length - 1; d > 0 && path[d]!.empty; d--) {
      const parent = path[d - 1]!;
      if (parent.star === path[d]) parent.star = undefined;
      else parent.children.delete(tokens[d - 1]!);
    }
    this.#changed(-1);
    return true;
  }

  /** Every subscription matching `topic` (a valid publish topic), in subscription order. */
  match(topic: string): readonly Subscription[] {
    const cached = this.#cache.get(topic);
    if (cached !== undefined) return cached;
    const found: Subscription[] = [];
    if (this.#size > 0) collect(this.#root, topic.split("."), found);
    if (found.length > 1) found.sort((a, b) => a.seq - b.seq);
    const result = found.length === 0 ? EMPTY : found;
    if (this.#cache.size >= this.#cacheLimit) this.#cache.clear();
    this.#cache.set(topic, result);
    return result;
  }

  /** The subscriptions whose pattern is exactly `tokens` (a copy). */
  at(tokens: readonly string[]): Subscription[] {
    let node = this.#root;
    const last = tokens.length - 1;
    for (let i = 0; i <= last; i++) {
      const t = tokens[i]!;
      if (t === ">" && i === last) return node.rest.slice();
      const next = t === "*" ? node.star : node.children.get(t);
      if (next === undefined) return [];
      node = next;
    }
    return node.exact.slice();
  }

  /** Every subscription, in no particular order. */
  *all(): Generator<Subscription> {
    const stack = [this.#root];
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      yield* node.exact;
      yield* node.rest;
      if (node.star !== undefined) stack.push(node.star);
      stack.push(...node.children.values());
    }
  }

  clear(): void {
    this.#root.children.clear();
    this.#root.star = undefined;
    this.#root.exact.length = 0;
    this.#root.rest.length = 0;
    this.#cache.clear();
    this.#size = 0;
  }

  #changed(delta: number): void {
    this.#size += delta;
    this.#cache.clear();
  }
}

/**
 * Every subscription on the paths `tokens` leads to, with an explicit stack rather than
 * recursion: a topic may have thousands of tokens, and one stack frame per token would overflow
 * the call stack (RangeError) on a long one. Each node is reached at most once per topic, since
 * a trie path from the root is unique.
 */
function collect(root: TrieNode, tokens: readonly string[], out: Subscription[]): void {
  const nodes: TrieNode[] = [root];
  const depths: number[] = [0];
  for (let node = nodes.pop(); node !== undefined; node = nodes.pop()) {
    const i = depths.pop()!;
    if (i === tokens.length) {
      for (const s of node.exact) out.push(s);
      continue;
    }
    // ">" needs at least one more token, which there is.
    for (const s of node.rest) out.push(s);
    const child = node.children.get(tokens[i]!);
    if (child !== undefined) {
      nodes.push(child);
      depths.push(i + 1);
    }
    if (node.star !== undefined) {
      nodes.push(node.star);
      depths.push(i + 1);
    }
  }
}
