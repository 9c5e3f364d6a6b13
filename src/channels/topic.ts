import { ValidationError } from "../errors.js";

const DOT = 46;
const STAR = 42;
const GT = 62;

function invalid(topic: unknown, what: string, problem: string): ValidationError {
  return new ValidationError(`Invalid ${what} ${JSON.stringify(topic)}: ${problem}`, [{ path: ["topic"], message: problem }]);
}

// Whitespace and control characters cannot appear in a NATS subject.
function isSpace(c: number): boolean {
  return c <= 32 || c === 127;
}

/**
 * Checks a topic to publish on: non-empty dot-separated tokens, no wildcard, no whitespace.
 * One pass over the characters, no split, because it runs on every publish.
 * @internal
 */
export function checkPublishTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== "string" || topic.length === 0) throw invalid(topic, "topic", "must be a non-empty string");
  let tokenStart = true;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === DOT) {
      if (tokenStart) throw invalid(topic, "topic", "tokens must not be empty");
      tokenStart = true;
    } else if (c === STAR || c === GT) {
      throw invalid(topic, "topic", "a published topic cannot hold the wildcards * or >");
    } else if (isSpace(c)) {
      throw invalid(topic, "topic", "must not contain whitespace");
    } else {
      tokenStart = false;
    }
  }
  if (tokenStart) throw invalid(topic, "topic", "tokens must not be empty");
}

/**
 * Checks a subscription topic and returns its tokens: `*` matches exactly one token, `>`
 * one or more trailing tokens and may only be last; a wildcard is a whole token
 * (`a*` is rejected rather than matched literally, so that every backend agrees).
 * @internal
 */
export function parseSubscriptionTopic(topic: unknown): string[] {
  if (typeof topic !== "string" || topic.length === 0) throw invalid(topic, "subscription topic", "must be a non-empty string");
  const tokens = topic.split(".");
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.length === 0) throw invalid(topic, "subscription topic", "tokens must not be empty");
    if (t === ">") {
      if (i !== tokens.length - 1) throw invalid(topic, "subscription topic", "> may only be the last token");
      continue;
    }
    if (t === "*") continue;
    for (let j = 0; j < t.length; j++) {
      const c = t.charCodeAt(j);
      if (c === STAR || c === GT) throw invalid(topic, "subscription topic", "a wildcard must be a whole token");
      if (isSpace(c)) throw invalid(topic, "subscription topic", "must not contain whitespace");
    }
  }
  return tokens;
}
