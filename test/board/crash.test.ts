import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSystem, type CoveyEvent, type MultiAgentSystem } from "../../src/index.js";
import { createBoard, type Board } from "../../src/board/index.js";
import { serveBoardHttp, type BoardHttpServer } from "../../src/board/mcp/http.js";
import { call, callError, httpClient, startProgram, stopProgram } from "./helpers.js";

describe("a worker killed while holding a claim", () => {
  let system: MultiAgentSystem;
  let board: Board;
  let http: BoardHttpServer;
  const events: CoveyEvent[] = [];

  beforeAll(async () => {
    system = createSystem();
    board = createBoard(system);
    system.events.eventBus.subscribe("*", (e) => {
      if (e.type.startsWith("board.")) events.push(e);
    });
    http = await serveBoardHttp(board, { port: 0 });
  });
  afterAll(async () => {
    await http.close();
    board.close();
    await system.shutdown();
  });

  it("loses the task when its lease expires; another worker finishes it; nothing is done twice", async () => {
    const task = await board.as("planner").createTask({ title: "migrate the schema" });
    // 0.01 minutes = 600 ms of wall-clock lease.
    const { child, match } = await startProgram("test/board/fixtures/claim-and-hang.ts", [http.url, "w1", task.id, "0.01"], /claimed \S+ token (\d+)/);
    const staleToken = Number(match[1]);
    const expired = system.events.eventBus.once("board.lease_expired", { timeout: 20_000 });
    await stopProgram(child, "SIGKILL");

    const w2 = await httpClient(http.url, "w2");
    try {
      await call(w2, "set_my_name", { name: "w2" });
      expect((await expired).payload).toEqual({ taskId: task.id, holder: "w1", token: staleToken });
      const { token } = await call<{ token: number }>(w2, "claim_task", { task_id: task.id, lock_minutes: 5 });
      expect(token).toBe(staleToken + 1);
      await call(w2, "update_task_status", { task_id: task.id, status: "done", token });
    } finally {
      await w2.close();
    }
    // The dead worker's token (presented by any session under its name) is refused.
    const w1 = await httpClient(http.url, "w1-again");
    try {
      await call(w1, "set_my_name", { name: "w1" });
      expect(await callError(w1, "update_task_status", { task_id: task.id, status: "done", token: staleToken })).toMatchObject({ code: "STALE_CLAIM" });
    } finally {
      await w1.close();
    }
    const done = events.filter((e) => e.type === "board.task_status" && e.payload["status"] === "done" && e.payload["taskId"] === task.id);
    expect(done.map((e) => e.source)).toEqual(["w2"]);
    expect(events.filter((e) => e.type === "board.lease_expired")).toHaveLength(1);
    expect((await board.as("planner").getTask(task.id))).toMatchObject({ status: "done", doneBy: "w2", fence: 2 });
  }, 60_000);
});
