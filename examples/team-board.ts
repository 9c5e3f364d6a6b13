// A team board: developer, docs and reviewer agents hand work to each other through
// per-member queues, publish artifacts, read the board and mark their work done.
import { createSystem, defineAgent, type AgentContext, type Message } from "../src/index.js";

type Member = "developer" | "docs" | "reviewer";
interface WorkItem {
  from: string;
  task: string;
}
interface Artifact {
  by: string;
  kind: string;
  summary: string;
}

const system = createSystem();
const members: Member[] = ["developer", "docs", "reviewer"];
for (const m of members) system.communication.streaming.createStream(`queue:${m}`, { highWaterMark: 8 });

// The board's tools, bound to one member's identity.
function tools(ctx: AgentContext, me: Member) {
  const shared = ctx.state.namespace("shared");
  return {
    queueWork: (owner: Member, task: string) => ctx.communication.streaming.send<WorkItem>(`queue:${owner}`, { from: me, task }),
    pullWork: () => ctx.communication.streaming.receive<WorkItem>(`queue:${me}`, { timeout: 0 }),
    publishArtifact: async (kind: string, summary: string) => {
      const artifact: Artifact = { by: me, kind, summary };
      await shared.update<Artifact[]>("board:artifacts", (list) => [...(list ?? []), artifact], { by: me });
      await ctx.communication.pubSub.publish(me, `board.artifact.${kind}`, artifact);
    },
    readBoard: async (limit = 8) => ((await shared.get<Artifact[]>("board:artifacts"))?.value ?? []).slice(-limit),
    markDone: (note = "") => shared.set(`board:done:${me}`, { note }, { by: me }),
  };
}

// What each member does with one item of work.
const behaviour: Record<Member, (t: ReturnType<typeof tools>, item: WorkItem) => Promise<void>> = {
  developer: async (t, item) => {
    await t.publishArtifact("code", `Implemented: ${item.task}`);
    await t.queueWork("docs", `Document: ${item.task}`);
    await t.queueWork("reviewer", `Review: ${item.task}`);
    await t.markDone("code shipped to review");
  },
  docs: async (t, item) => {
    const board = await t.readBoard();
    await t.publishArtifact("docs", `${item.task} (based on ${board.filter((a) => a.kind === "code").length} code artifact)`);
    await t.markDone("docs written");
  },
  reviewer: async (t, item) => {
    const board = await t.readBoard();
    const verdict = board.some((a) => a.kind === "code") ? "approved" : "nothing to review";
    await t.publishArtifact("review", `${item.task}: ${verdict}`);
    await t.markDone(verdict);
  },
};

for (const me of members) {
  await system.addAgent(
    defineAgent({
      name: me,
      description: `team member: ${me}`,
      // One turn: pull one item from my queue, act on it. Returns whether there was work.
      handler: async (_: unknown, ctx) => {
        const t = tools(ctx, me);
        const item = await t.pullWork();
        if (item === undefined) return false;
        console.log(`[${me}] pulled "${item.task}" from ${item.from}`);
        await behaviour[me](t, item);
        return true;
      },
    }),
  );
}

// An observer sees every artifact as it is published.
system.communication.pubSub.subscribe("board.artifact.>", (m: Message) => {
  const a = m.payload as Artifact;
  console.log(`  board <- ${a.kind} by ${a.by}: ${a.summary}`);
});

await system.communication.streaming.send<WorkItem>("queue:developer", { from: "lead", task: "rate limiter for the API" });

// Rounds until nobody has work left.
for (let round = 1; ; round++) {
  const worked = await Promise.all(members.map((m) => system.call<boolean>(m, {})));
  if (!worked.some(Boolean)) break;
  console.log(`-- round ${round} done`);
}

const done = await system.kv.keys("board:done:");
console.log(`\nDone: ${done.map((k) => k.slice("board:done:".length)).join(", ")}`);
console.log(`Artifacts on the board: ${(await system.kv.get<Artifact[]>("board:artifacts"))?.value.length ?? 0}`);
await system.shutdown();
if (done.length !== members.length) process.exitCode = 1;
