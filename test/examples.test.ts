import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));

async function example(name: string, timeout = 60_000): Promise<string> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", `examples/${name}`], { cwd: root, timeout });
  return stdout;
}

describe("examples", () => {
  it("shared-plan.ts completes the plan with no task worked twice, in parallel", async () => {
    const out = await example("shared-plan.ts");
    expect(out).toContain("Plan complete: 100%");
    expect(out).toContain("Tasks worked twice: 0");
    expect(out).toContain("Parallelism: yes");
    expect(out).toMatch(/dev\.worker#\d claimed task-\d \(plan v\d+ -> v\d+\)/);
    expect(out).toMatch(/dev\.worker#\d completed task-\d \(v\d+\), \d left/);
    // Four workers choosing at once from one plan: claims collide, are refused and retried.
    expect(out).toMatch(/dev\.worker#\d conflict-retried: the plan moved from v\d+ to v\d+/);
    const path = /Mermaid sequence diagram written to (.+)\n/.exec(out)?.[1];
    expect(readFileSync(path!, "utf8")).toContain("sequenceDiagram");
  });

  it("textbook-system.ts runs the textbook's system", async () => {
    const out = await example("textbook-system.ts");
    expect(out).toMatch(/Task result: \{ status: 'completed', output: 'Result' \}/);
    expect(out).toMatch(/Peer status: \{[^}]*agentId: 'worker_2'/);
    expect(out).toContain("Active agents after removal: []");
  });

  it("provider-consumer.ts discovers the summarizer and calls it by name", async () => {
    const out = await example("provider-consumer.ts");
    expect(out).toContain("nlp.summarizer (1 instance)");
    expect(out).toMatch(/Result: .{1,40}\n/);
    expect(out).toContain("Rejected bad input: INVALID");
    expect(out).toContain("Provider failed: HANDLER_FAILED (nlp.summarizer) cause: RangeError: document of 1000 characters");
  });

  it("planner-worker.ts hands the tasks over and the worker finishes them in order", async () => {
    const out = await example("planner-worker.ts");
    expect(out).toContain("[worker] got");
    expect(out).toContain("uses shared context: v3");
    // The worker stalls on t2 past its lease: the standby takes it over and the stale token is refused.
    expect(out).toContain("[standby] t2: lease expired, took over with fencing token");
    expect(out).toMatch(/\[worker\] t2: stale fencing token \d+ refused \(current \d+, done by standby#1\)/);
    expect(out).toContain("Worker finished: t1, t3; standby finished: t2");
    expect(out).toContain("Tasks completed: 3 of 3, each exactly once: true");
  });

  it("team-board.ts passes work from developer to docs and reviewer", async () => {
    const out = await example("team-board.ts");
    expect(out).toContain("[developer] pulled");
    expect(out).toContain("[reviewer] pulled");
    expect(out).toContain("Done: developer, docs, reviewer");
  });

  it("board/planner-worker.ts: planner and worker as separate MCP client processes against one covey-board server", async () => {
    const out = await example("board/planner-worker.ts", 110_000);
    expect(out).toMatch(/\[worker\] got "Tasks ready in milestone m\d+/);
    expect(out).toMatch(/claiming t\d+ early is refused: track_order/);
    expect(out).toContain("uses shared context: v3");
    expect(out).toMatch(/\[worker\] Worker finished: (t\d+), (t\d+), (t\d+)\n/);
    expect(out).toMatch(/\[planner\] dashboard t\d+: worker: Starting: Design the data schema \| worker: Done/);
    expect(out).toContain("planner exit 0, worker exit 0");
  }, 120_000);

  it("board/team-mesh.ts hands work through queues, and the reviewer's policy requires a code artifact", async () => {
    const out = await example("board/team-mesh.ts");
    expect(out).toContain('[reviewer] refused to approve "Review: rate limiter": requiredArtifacts');
    expect(out).toContain('[developer] pulled "Implement: rate limiter" from reviewer');
    expect(out).toContain("[docs] hand-off refused: mayQueueTo");
    expect(out).toContain("Done: developer, docs, reviewer");
    expect(out).toContain("Artifacts on the board: code by developer, docs by docs, review by reviewer");
    expect(out).toContain("Open tasks: 0");
  });

  it("find-a-race.ts finds the race, replays it, and the kv.update worker survives", async () => {
    const out = await example("find-a-race.ts");
    expect(out).toMatch(/naive worker: [1-9]\d* of 200 runs failed/);
    expect(out).toContain("traces identical: true");
    expect(out).toContain("kv.update worker: 0 of 1000 runs failed");
  });

  it("durable-plan.ts resumes after a kill, keeping completed tasks and completing none twice", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { spawn } = await import("node:child_process");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "covey-durable-plan-"));
    try {
      // A deterministic crash: the example kills itself with SIGKILL after 3 completions.
      const file = join(dir, "plan.db");
      const killed = await run(process.execPath, ["--import", "tsx", "examples/durable-plan.ts", "--file", file, "--stop-after", "3"], { cwd: root }).then(
        () => undefined,
        (e: { signal?: string; stdout?: string }) => e,
      );
      expect(killed?.signal).toBe("SIGKILL");
      expect(killed?.stdout).toContain("Stopping hard after 3 completions");
      const resumed = await run(process.execPath, ["--import", "tsx", "examples/durable-plan.ts", "--file", file], { cwd: root });
      expect(resumed.stdout).toMatch(/Run 2 on .*: plan found, [3-8] of 8 tasks already complete/);
      expect(resumed.stdout).toMatch(/Completed in this run: \d; kept from earlier runs: [3-8]/);
      expect(resumed.stdout).toContain("Plan complete: 100%");
      expect(resumed.stdout).toContain("Tasks completed twice: 0");

      // A kill from outside, at the first completion it reports.
      const other = join(dir, "other.db");
      const child = spawn(process.execPath, ["--import", "tsx", "examples/durable-plan.ts", "--file", other], { cwd: root });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("completed task-")) child.kill("SIGKILL");
      });
      const signal = await new Promise((done) => child.on("close", (_code, s) => done(s)));
      expect(signal).toBe("SIGKILL");
      const after = await run(process.execPath, ["--import", "tsx", "examples/durable-plan.ts", "--file", other], { cwd: root });
      expect(after.stdout).toMatch(/plan found, [1-8] of 8 tasks already complete/);
      expect(after.stdout).toContain("Plan complete: 100%");
      expect(after.stdout).toContain("Tasks completed twice: 0");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
