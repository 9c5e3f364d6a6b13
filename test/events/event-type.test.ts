import { describe, expect, expectTypeOf, it } from "vitest";
import { EventType } from "../../src/events/event-type.js";

describe("EventType", () => {
  it("holds the textbook's event type strings as literal types", () => {
    expect(EventType).toEqual({
      TASK_CREATED: "task_created",
      TASK_STARTED: "task_started",
      TASK_COMPLETED: "task_completed",
      TASK_FAILED: "task_failed",
      AGENT_JOINED: "agent_joined",
      AGENT_LEFT: "agent_left",
      STATE_CHANGED: "state_changed",
      ERROR_OCCURRED: "error_occurred",
    });
    expectTypeOf(EventType.TASK_COMPLETED).toEqualTypeOf<"task_completed">();
    expect(Object.isFrozen(EventType)).toBe(true);
  });
});
