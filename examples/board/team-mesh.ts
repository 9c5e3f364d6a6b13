// A team mesh on the covey task board: developer, docs and reviewer agents hand work to each
// other through per-member queues, publish artifacts, read the board and mark their work
// done. Policies are declared per member: the reviewer may only mark a review done when a
// `code` artifact is on its hand-off thread, and may hand work back only to the developer.
import { createSystem, defineAgent, type CoveyEvent } from "../../src/index.js";
import { createBoard, PolicyViolationError, type BoardMember, type BoardTask } from "../../src/board/index.js";

type Member = "developer" | "docs" | "reviewer";
const members: Member[] = ["developer", "docs", "reviewer"];

const system = createSystem();
const board = createBoard(system);
await board.setPolicy("developer", { mayQueueTo: ["docs", "reviewer"], leaseMinutes: 15 });
await board.setPolicy("docs", { mayQueueTo: [] });
await board.setPolicy("reviewer", { mayQueueTo: ["developer"], requiredArtifacts: ["code"] });

// What each member does with one pulled item of work.
const behaviour: Record<Member, (me: BoardMember, item: BoardTask) => Promise<void>> = {
  developer: async (me, item) => {
    const feature = item.title.replace(/^\w+: /, "");
    await me.publishArtifact("code", `Implemented: ${feature}`, "export function limit() { /* token bucket */ }");
    await me.queueWork("docs", `Document: ${feature}`);
    await me.queueWork("reviewer", `Review: ${feature}`);
    await me.markDone("code shipped to review");
  },
  docs: async (me, item) => {
    const view = await me.readBoard({ limit: 8 });
    await me.publishArtifact("docs", `${item.title} (from ${view.artifacts.filter((a) => a.kind === "code").length} code artifact)`);
    try {
      await me.queueWork("developer", "Please add examples");
    } catch (e) {
      if (!(e instanceof PolicyViolationError)) throw e;
      console.log(`[docs] hand-off refused: ${e.rule}`);
    }
    await me.markDone("docs written");
  },
  reviewer: async (me, item) => {
    try {
      await me.markDone("approved");
      await me.publishArtifact("review", `${item.title}: approved`, undefined, { taskId: item.id });
    } catch (e) {
      if (!(e instanceof PolicyViolationError)) throw e;
      // No code on this thread: send it to the developer and drop this review.
      console.log(`[reviewer] refused to approve "${item.title}": ${e.rule}`);
      await me.queueWork("developer", item.title.replace(/^Review/, "Implement"));
      await me.updateTaskStatus(item.id, "cancelled", { note: "nothing to review yet" });
    }
  },
};

for (const name of members) {
  await system.addAgent(
    defineAgent({
      name,
      description: `team member: ${name}`,
      // One turn: pull one item from my queue and act on it. Returns whether there was work.
      handler: async () => {
        const me = board.as(name);
        const item = await me.pullWork();
        if (item === undefined) return false;
        console.log(`[${name}] pulled "${item.title}" from ${item.createdBy}`);
        await behaviour[name](me, item);
        return true;
      },
    }),
  );
}

// An observer sees every artifact as it is published (board events on the system's bus).
system.events.eventBus.subscribe("board.artifact_published", (e: CoveyEvent) => {
  console.log(`  board <- ${String(e.payload["kind"])} by ${String(e.payload["by"])}`);
});

// The lead asks for a review before any code exists, then for the feature itself.
const lead = board.as("lead");
await lead.queueWork("reviewer", "Review: rate limiter");

for (let round = 1; ; round++) {
  const worked = await Promise.all(members.map((m) => system.call<boolean>(m, {})));
  if (!worked.some(Boolean)) break;
  console.log(`-- round ${round} done`);
}

const view = await lead.readBoard({ limit: 20 });
const done = view.done.map((d) => d.member).sort();
console.log(`\nDone: ${done.join(", ")}`);
console.log(`Artifacts on the board: ${view.artifacts.map((a) => `${a.kind} by ${a.by}`).join(", ")}`);
const open = (await board.tasks()).filter((t) => t.status !== "done" && t.status !== "cancelled");
console.log(`Open tasks: ${open.length}`);
board.close();
await system.shutdown();
if (done.length !== members.length || open.length !== 0) process.exitCode = 1;
