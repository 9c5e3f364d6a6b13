import type { ZodType } from "zod";
import type { AgentContext } from "./context.js";

/**
 * The description of a typed agent: its address, its contract and its handler.
 * Adding the same spec to a system again adds another instance of it.
 */
export interface AgentSpec<I = unknown, O = unknown> {
  /** The address; every instance of a spec shares it. */
  name: string;
  description?: string;
  /** Task types this agent accepts from `submitTask`. */
  capabilities?: string[];
  /** Checked before the handler runs: the caller gets ValidationError and the handler never runs. */
  input?: ZodType<I>;
  /** Checked before the reply: the caller gets HandlerError whose cause is a ValidationError. */
  output?: ZodType<O>;
  /** Requests one instance runs at once. @default 1 */
  concurrency?: number;
  handler: (input: I, ctx: AgentContext) => O | Promise<O>;
}

/**
 * Declares a typed agent. It only returns the spec, with its types inferred from the zod
 * contracts, so it can be added to any system (once per instance).
 *
 * @example
 * ```ts
 * const summarizer = defineAgent({
 *   name: "nlp.summarizer",
 *   input: z.object({ text: z.string(), maxLength: z.number().default(200) }),
 *   output: z.object({ summary: z.string() }),
 *   handler: ({ text, maxLength }) => ({ summary: text.slice(0, maxLength) }),
 * });
 * ```
 */
export function defineAgent<I, O>(spec: AgentSpec<I, O>): AgentSpec<I, O> {
  return spec;
}
