// Dashboards (per task, with author and time) and scoped memory.
import { BoardEvent, MAX_RETRIES, type BoardCore } from "./core.js";
import { needName, needScope, optText } from "./checks.js";
import { keys } from "./keys.js";
import type { Dashboard, DashboardEntry, MemoryEntry } from "./types.js";

/** Writes (`append: false`, replacing every entry) or appends one dashboard entry. @internal */
export async function writeDashboard(core: BoardCore, me: string, taskId: string, textIn: string, append: boolean): Promise<Dashboard> {
  needName(taskId, "taskId");
  const text = optText(textIn, "text");
  await core.task(taskId);
  const entry: DashboardEntry = { author: me, at: core.now(), text };
  const stored = await core.store.update<Dashboard>(
    keys.dashboard(taskId),
    (draft) => (append && draft !== undefined ? { taskId, entries: [...draft.entries, entry] } : { taskId, entries: [entry] }),
    { by: me, maxRetries: MAX_RETRIES },
  );
  await core.emit(me, BoardEvent.DASHBOARD, { taskId, author: me, append });
  return stored.value;
}

/** @internal */
export async function readDashboard(core: BoardCore, taskId: string): Promise<Dashboard> {
  needName(taskId, "taskId");
  await core.task(taskId);
  return (await core.store.get<Dashboard>(keys.dashboard(taskId)))?.value ?? { taskId, entries: [] };
}

async function checkScopeTarget(core: BoardCore, scope: string): Promise<void> {
  if (scope.startsWith("task:")) await core.task(scope.slice(5));
  else if (scope.startsWith("project:")) await core.exists("project", scope.slice(8));
}

/** @internal */
export async function remember(core: BoardCore, me: string, key: string, value: unknown, scopeIn: unknown): Promise<MemoryEntry> {
  needName(key, "key");
  const scope = needScope(scopeIn);
  await checkScopeTarget(core, scope);
  const entry: MemoryEntry = { key, scope, value: value === undefined ? null : value, by: me, at: core.now() };
  await core.store.set(keys.memory(scope, key), entry, { by: me });
  await core.emit(me, BoardEvent.MEMORY, { key, scope, by: me });
  return entry;
}

/** @internal */
export async function recall(core: BoardCore, key: string, scopeIn: unknown): Promise<MemoryEntry | undefined> {
  needName(key, "key");
  const scope = needScope(scopeIn);
  return (await core.store.get<MemoryEntry>(keys.memory(scope, key)))?.value;
}

