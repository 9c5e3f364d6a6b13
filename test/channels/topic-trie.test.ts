import { describe, expect, it } from "vitest";
import { parseSubscriptionTopic } from "../../src/channels/topic.js";
import { Subscription, TopicTrie } from "../../src/channels/topic-trie.js";

const matchTable: [pattern: string, topic: string, matches: boolean][] = [
  ["a", "a", true],
  ["a", "b", false],
  ["a", "a.b", false],
  ["a.b", "a.b", true],
  ["a.b", "a", false],
  ["a.*", "a.b", true],
  ["a.*", "a", false],
  ["a.*", "a.b.c", false],
  ["a.*", "b.c", false],
  ["a.>", "a.b", true],
  ["a.>", "a.b.c.d", true],
  ["a.>", "a", false],
  ["a.>", "b.c", false],
  ["*.b", "a.b", true],
  ["*.b", "x.b", true],
  ["*.b", "a.c", false],
  ["*.b", "b", false],
  ["*.b", "a.b.c", false],
  ["*", "a", true],
  ["*", "a.b", false],
  [">", "a", true],
  [">", "a.b.c", true],
  ["*.>", "a", false],
  ["*.>", "a.b", true],
  ["a.*.c", "a.b.c", true],
  ["a.*.c", "a.b.d", false],
  ["a.*.>", "a.b.c", true],
  ["a.*.>", "a.b", false],
  ["*.*", "a.b", true],
  ["*.*", "a.b.c", false],
  ["__proto__", "__proto__", true],
  ["constructor.*", "constructor.x", true],
];

function sub(topic: string, seq: number): Subscription {
  return new Subscription(topic, () => undefined, seq);
}

describe("TopicTrie#match", () => {
  it.each(matchTable)("%j against %j -> %s", (pattern, topic, matches) => {
    const trie = new TopicTrie();
    trie.add(parseSubscriptionTopic(pattern), sub(pattern, 0));
    expect(trie.match(topic).length).toBe(matches ? 1 : 0);
    expect(naiveMatch(pattern, topic)).toBe(matches);
  });

  it("returns every match once, in subscription order, with all patterns in one trie", () => {
    const trie = new TopicTrie();
    matchTable.forEach(([pattern], i) => trie.add(parseSubscriptionTopic(pattern), sub(pattern, i)));
    for (const topic of new Set(matchTable.map(([, t]) => t))) {
      const expected = matchTable
        .map(([pattern], i) => ({ pattern, i }))
        .filter(({ pattern }) => naiveMatch(pattern, topic))
        .map(({ i }) => i);
      expect(trie.match(topic).map((s) => s.seq)).toEqual(expected);
    }
  });

  it("sees subscriptions added or removed after a topic was cached", () => {
    const trie = new TopicTrie();
    const s1 = sub("a.*", 1);
    trie.add(["a", "*"], s1);
    expect(trie.match("a.b")).toEqual([s1]);
    const s2 = sub("a.>", 2);
    trie.add(["a", ">"], s2);
    expect(trie.match("a.b")).toEqual([s1, s2]);
    expect(trie.remove(["a", "*"], s1)).toBe(true);
    expect(trie.match("a.b")).toEqual([s2]);
    expect(trie.remove(["a", "*"], s1)).toBe(false);
    trie.remove(["a", ">"], s2);
    expect(trie.match("a.b")).toEqual([]);
    expect(trie.size).toBe(0);
  });

  it("prunes emptied branches", () => {
    const trie = new TopicTrie();
    const s = sub("a.b.c", 1);
    trie.add(["a", "b", "c"], s);
    trie.remove(["a", "b", "c"], s);
    expect([...trie.all()]).toEqual([]);
    expect(trie.at(["a", "b", "c"])).toEqual([]);
  });
});

// A reference matcher for the table test: token by token, the NATS way.
function naiveMatch(pattern: string, topic: string): boolean {
  const p = pattern.split(".");
  const t = topic.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return t.length > i;
    if (i >= t.length) return false;
    if (p[i] !== "*" && p[i] !== t[i]) return false;
  }
  return p.length === t.length;
}

describe("TopicTrie#match (long topics)", () => {
  it("matches a 100,000-token topic without overflowing the stack", () => {
    const tokens = Array.from({ length: 100_000 }, (_, i) => `t${i % 7}`);
    const topic = tokens.join(".");
    const trie = new TopicTrie();
    trie.add(parseSubscriptionTopic(">"), sub(">", 0));
    trie.add(parseSubscriptionTopic("t0.>"), sub("t0.>", 1));
    // A pattern as long as the topic, with a wildcard in every other token.
    const long = tokens.map((t, i) => (i % 2 === 0 ? "*" : t)).join(".");
    trie.add(parseSubscriptionTopic(long), sub(long, 2));
    trie.add(parseSubscriptionTopic(`${long}.extra`), sub("longer", 3));
    expect(trie.match(topic).map((s) => s.seq)).toEqual([0, 1, 2]);
  });
});
