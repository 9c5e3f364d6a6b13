import { z } from "zod";
import type { CoordinatedAgent, TaskWork } from "./coordinated-agent.js";
import { parseWith } from "./validate.js";
import type { AgentSpec } from "./spec.js";

/** One entry of `system.catalog()`: what an agent does and how to call it. */
export interface CatalogEntry {
  name: string;
  description: string;
  capabilities: string[];
  /** Running instances behind the name. */
  instances: number;
  /** JSON Schema of the input contract, when the spec has one. */
  inputSchema?: object;
  /** JSON Schema of the output contract, when the spec has one. */
  outputSchema?: object;
}

/**
 * The instances that share one name, and the choice among them: the least busy instance,
 * ties broken round robin so equal instances share the work evenly.
 * @internal
 */
export class AgentGroup {
  readonly name: string;
  readonly spec: AgentSpec<unknown, unknown> | undefined;
  readonly instances: CoordinatedAgent[] = [];
  unregister: (() => void) | undefined;
  #next = 0;
  #schemas: { input?: object; output?: object } | undefined;

  constructor(name: string, spec: AgentSpec<unknown, unknown> | undefined) {
    this.name = name;
    this.spec = spec;
  }

  /** What `executeTask` runs for a mesh agent: its handler on the task's (checked) payload. */
  readonly work: TaskWork = (task, ctx) => {
    const spec = this.spec!;
    return spec.handler(spec.input !== undefined ? parseWith(spec.input, task.payload, "input", spec.name) : task.payload, ctx);
  };

  /** The least busy instance (round robin among equals), or undefined when none is left. */
  pick(): CoordinatedAgent | undefined {
    const list = this.instances;
    const n = list.length;
    if (n === 1) return list[0];
    let best: CoordinatedAgent | undefined;
    let bestIndex = 0;
    let bestLoad = Infinity;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      const agent = list[i]!;
      const load = agent.load;
      if (load < bestLoad) {
        best = agent;
        bestLoad = load;
        bestIndex = i;
        if (load === 0) break;
      }
    }
    this.#next = (bestIndex + 1) % n;
    return best;
  }

  remove(agent: CoordinatedAgent): void {
    const i = this.instances.indexOf(agent);
    if (i >= 0) this.instances.splice(i, 1);
    if (this.#next >= this.instances.length) this.#next = 0;
  }

  catalogEntry(): CatalogEntry {
    const first = this.instances[0];
    const entry: CatalogEntry = {
      name: this.name,
      description: this.spec?.description ?? "",
      capabilities: first !== undefined ? [...first.capabilities] : [...(this.spec?.capabilities ?? [])],
      instances: this.instances.length,
    };
    const schemas = this.#jsonSchemas();
    if (schemas.input !== undefined) entry.inputSchema = schemas.input;
    if (schemas.output !== undefined) entry.outputSchema = schemas.output;
    return entry;
  }

  // Converting a zod schema walks it; do it once per group.
  #jsonSchemas(): { input?: object; output?: object } {
    if (this.#schemas !== undefined) return this.#schemas;
    const schemas: { input?: object; output?: object } = {};
    if (this.spec?.input !== undefined) schemas.input = z.toJSONSchema(this.spec.input, { io: "input", unrepresentable: "any" });
    if (this.spec?.output !== undefined) schemas.output = z.toJSONSchema(this.spec.output, { io: "output", unrepresentable: "any" });
    this.#schemas = schemas;
    return schemas;
  }
}
