/** The shared plan of examples/nats: one JSON value in the mesh's kv. */
export interface Task {
  id: string;
  description: string;
  status: "pending" | "in-progress" | "complete";
  assignedTo: string | null;
  /** Every process that claimed the task: more than one would mean it was worked twice. */
  workedBy: string[];
}

export interface Plan {
  id: string;
  tasks: Task[];
}
