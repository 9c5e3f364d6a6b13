export { systemClock } from "./clock.js";
export type { Clock, TimerHandle } from "./clock.js";
export { sleep } from "./wait.js";
export type { WaitOptions } from "./wait.js";
export { traceToMermaid } from "./trace.js";
export type { Trace, TraceRecord, TraceListener, MermaidOptions } from "./trace.js";
