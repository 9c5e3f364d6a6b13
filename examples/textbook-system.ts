// The textbook's complete multi-agent system, line by line: three agents, one compute task,
// a peer status request, then the agents leave. Runs on the wall clock (100 ms of work).
import { EventType, MultiAgentSystem } from "../src/index.js";

// Create the system: namespaced state ("shared", "agents"), channels, sync, events.
const system = new MultiAgentSystem();

// Add agents with their capabilities.
await system.addAgent("worker_1", ["compute", "data_processing"]);
await system.addAgent("worker_2", ["analysis", "reporting"]);
await system.addAgent("coordinator", ["coordination", "compute"]);
console.log("Active agents:", (await system.kv.get("active_agents"))?.value);

// Submit a task: it goes to the least busy agent that has the "compute" capability.
const result = await system.submitTask({ id: "task_1", type: "compute", payload: { data: [1, 2, 3] } });
console.log("Task result:", result);
console.log("task_1 status:", (await system.kv.get("task:task_1:status"))?.value);
console.log("task_1 completed (set by the reactive coordinator):", (await system.kv.get("task:task_1:completed"))?.value);

// Agent-to-agent communication: worker_1 asks worker_2 for its status.
const worker = system.agents.get("worker_1")!;
const peerStatus = await worker.requestPeer("worker_2", "get_status");
console.log("Peer status:", peerStatus);

// Cleanup: every agent leaves; the coordinator keeps active_agents current.
await system.removeAgent("worker_1");
await system.removeAgent("worker_2");
await system.removeAgent("coordinator");
console.log("Active agents after removal:", (await system.kv.get("active_agents"))?.value);

const history = system.events.eventBus.getHistory();
console.log(`\nEvent history (${history.length} events):`);
for (const e of history) console.log(`  ${e.type.padEnd(15)} from ${e.source}`);
console.log(`Tasks completed: ${system.events.eventBus.getHistory({ type: EventType.TASK_COMPLETED }).length}`);
await system.shutdown();
