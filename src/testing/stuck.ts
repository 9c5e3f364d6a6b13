import type { MultiAgentSystem } from "../agents/system.js";

const q = (s: string): string => JSON.stringify(s);

/**
 * What a system is waiting on right now, one line each: pending calls (caller -> recipient,
 * since when), agents with running or queued handlers, every lock, semaphore and barrier
 * that someone holds or waits for, and every stream with a waiting receiver or blocked sender. Read from the system's own introspection, so it costs
 * nothing until a driver finds the system stuck.
 * @internal
 */
export function describeWaiting(system: MultiAgentSystem): string[] {
  const lines: string[] = [];
  const now = system.clock.now();
  const age = (since: number): string => `since ${since} ms${now > since ? ` (${now - since} ms ago)` : ""}`;
  // Oldest first reads like a story: the first call is usually the one the others wait behind.
  const calls = system.communication.requestReply.pendingRequests().slice().reverse();
  for (const r of calls) lines.push(`call ${r.from} -> ${q(r.to)} (${r.id}) pending ${age(r.since)}`);
  for (const agent of system.agents.values()) {
    if (agent.running > 0 || agent.queued > 0) {
      lines.push(`agent ${agent.agentId}: ${agent.running} handler(s) running, ${agent.queued} queued`);
    }
  }
  const sync = system.sync.snapshot();
  for (const lock of sync.locks) {
    if (lock.holder === undefined && lock.waiters.length === 0) continue;
    const held =
      lock.holder === undefined
        ? "free"
        : `held by ${lock.holder} (fencing token ${lock.fencingToken}${lock.leaseRemaining !== undefined ? `, lease ${lock.leaseRemaining} ms left` : ", no lease"})`;
    const waiters = lock.waiters.map((w) => `${w.agentId} ${age(w.since)}`).join(", ");
    lines.push(`lock ${q(lock.id)}: ${held}${waiters ? `; waiting: ${waiters}` : ""}`);
  }
  for (const sem of sync.semaphores) {
    if (sem.holders.length === 0 && sem.waiters.length === 0) continue;
    const holders = sem.holders.map((h) => `${h.agentId} (${h.permits})`).join(", ");
    const waiters = sem.waiters.map((w) => `${w.agentId} ${age(w.since)}`).join(", ");
    lines.push(
      `semaphore ${q(sem.id)}: ${sem.available} of ${sem.permits} permits free${holders ? `, held by ${holders}` : ""}${waiters ? `; waiting: ${waiters}` : ""}`,
    );
  }
  for (const barrier of sync.barriers) {
    if (barrier.arrived.length === 0) continue;
    const arrived = barrier.arrived.map((w) => `${w.agentId} ${age(w.since)}`).join(", ");
    lines.push(`barrier ${q(barrier.id)}: ${barrier.arrived.length} of ${barrier.required} arrived (generation ${barrier.generation}); waiting: ${arrived}`);
  }
  const streaming = system.communication.streaming;
  for (const id of [...streaming.streamIds()].sort()) {
    const info = streaming.info(id);
    if (info === undefined || (info.waitingReceivers === 0 && info.blockedSenders === 0)) continue;
    const waits: string[] = [];
    if (info.waitingReceivers > 0) waits.push(`${info.waitingReceivers} receiver(s) waiting for data`);
    if (info.blockedSenders > 0) waits.push(`${info.blockedSenders} sender(s) blocked on a full buffer (${info.buffered} of ${info.highWaterMark})`);
    lines.push(`stream ${q(id)}: ${waits.join(", ")}${info.closed ? " (closed)" : ""}`);
  }
  return lines;
}
