import type { ZodType } from "zod";
import type { AgentContext } from "./context.js";

/**
 * The description of a typed agent: its address, its contract and its handler.
 * Adding the same spec to a system again adds another instance of it.
 *
 * `I` is what the handler receives (the input schema's output, defaults applied), `O` what it
 * returns, and `In` what a caller passes (the input schema's *input* type, defaults optional).
 */
export interface AgentSpec<I = unknown, O = unknown, In = I> {
  /** The address; every instance of a spec shares it. */
  name: string;
  description?: string;
  /** Task types this agent accepts from `submitTask`. */
  capabilities?: string[];
  /** Checked before the handler runs: the caller gets ValidationError and the handler never runs. */
  input?: ZodType<I, In>;
  /** Checked before the reply: the caller gets HandlerError whose cause is a ValidationError. */
  output?: ZodType<O>;
  /**
   * Requests one instance runs at once; the rest wait in its mailbox, in order. A queued
   * request whose caller gives up leaves the mailbox and never runs; a running handler keeps
   * its slot until it returns, even after its caller gave up (it sees `ctx.signal` abort).
   * @default 1
   */
  concurrency?: number;
  handler: (input: I, ctx: AgentContext) => O | Promise<O>;
}

/**
 * What a caller passes to the agent `S` (a value `defineAgent` returned): its input schema's
 * input type, so fields with defaults are optional.
 *
 * @example
 * ```ts
 * type In = InputOf<typeof summarizer>; // { text: string; maxLength?: number | undefined }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches every spec; only In is read
export type InputOf<S> = S extends AgentSpec<any, any, infer In> ? In : never;

/**
 * What a call to the agent `S` resolves to: its output schema's type, or what its handler returns.
 *
 * @example
 * ```ts
 * const out: OutputOf<typeof summarizer> = await system.call(summarizer, { text });
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches every spec; only O is read
export type OutputOf<S> = S extends AgentSpec<any, infer O, any> ? O : never;

/**
 * Any agent spec, whatever its types: the constraint of the typed `call` overloads.
 * @internal
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a spec of any input and output
export type AnyAgentSpec = AgentSpec<any, any, any>;

/**
 * Declares a typed agent. It only returns the spec, with its types inferred from the zod
 * contracts, so it can be added to any system (once per instance) and used as the agent's
 * typed address: `system.call(spec, input)` checks `input` and types the result.
 *
 * @example
 * ```ts
 * const summarizer = defineAgent({
 *   name: "nlp.summarizer",
 *   input: z.object({ text: z.string(), maxLength: z.number().default(200) }),
 *   output: z.object({ summary: z.string() }),
 *   handler: ({ text, maxLength }) => ({ summary: text.slice(0, maxLength) }),
 * });
 * const { summary } = await system.call(summarizer, { text: "..." });
 * ```
 */
export function defineAgent<I, O, In = I>(spec: AgentSpec<I, O, In>): AgentSpec<I, O, In> {
  return spec;
}
