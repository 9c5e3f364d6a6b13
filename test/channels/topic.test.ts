import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import { checkPublishTopic, parseSubscriptionTopic } from "../../src/channels/topic.js";

describe("checkPublishTopic", () => {
  it.each(["a", "a.b", "orders.eu.created", "__proto__.constructor", "a-b_c.d:e"])("accepts %j", (topic) => {
    expect(() => checkPublishTopic(topic)).not.toThrow();
  });

  it.each(["", ".", "a.", ".a", "a..b", "a.*", "*", ">", "a.>", "a*b", "a b", "a.\tb", 7, undefined])("rejects %j", (topic) => {
    expect(() => checkPublishTopic(topic)).toThrow(ValidationError);
  });
});

describe("parseSubscriptionTopic", () => {
  it("splits a valid topic into tokens", () => {
    expect(parseSubscriptionTopic("a.*.>")).toEqual(["a", "*", ">"]);
    expect(parseSubscriptionTopic(">")).toEqual([">"]);
    expect(parseSubscriptionTopic("*.*")).toEqual(["*", "*"]);
  });

  it.each(["", "a..b", ".a", "a.", ">.a", "a.>.b", "a*", "*b.c", "a.b>", "a b", 3])("rejects %j", (topic) => {
    expect(() => parseSubscriptionTopic(topic)).toThrow(ValidationError);
  });
});
