// Key layout of the board's namespace. Names that the caller chooses (agents, scopes, memory
// keys) are length-prefixed so that no two (name, rest) pairs can produce the same key.

const pad = (seq: number): string => String(seq).padStart(12, "0");
const part = (name: string): string => `${name.length}:${name}`;

/** @internal */
export const keys = {
  seq: "seq",
  project: (id: string) => `project:${id}`,
  milestone: (id: string) => `milestone:${id}`,
  task: (id: string) => `task:${id}`,
  taskPrefix: "task:",
  dashboard: (taskId: string) => `dash:${taskId}`,
  inboxPrefix: (agent: string) => `msg:${part(agent)}:`,
  message: (agent: string, seq: number) => `msg:${part(agent)}:${pad(seq)}`,
  memory: (scope: string, key: string) => `mem:${part(scope)}:${key}`,
  artifactPrefix: "art:",
  artifact: (seq: number) => `art:${pad(seq)}`,
  policy: (member: string) => `policy:${member}`,
  memberPrefix: "member:",
  member: (member: string) => `member:${member}`,
} as const;

/** The kind of record a board key holds (`task`, `message`, ...). @internal */
export function kindOf(key: string): string {
  const head = key.slice(0, key.indexOf(":") === -1 ? key.length : key.indexOf(":"));
  switch (head) {
    case "dash":
      return "dashboard";
    case "msg":
      return "message";
    case "mem":
      return "memory";
    case "art":
      return "artifact";
    default:
      return head;
  }
}
