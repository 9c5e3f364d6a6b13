import { ClosedError, CoveyError, HandlerError, NoResponderError, TimeoutError, ValidationError, type ValidationIssue } from "../../errors.js";
import { isPassThrough, passThrough } from "../../runtime/pass-through.js";
import { encodeKey } from "./key-codec.js";

/**
 * The subjects, headers and payload encodings covey speaks on NATS; docs/wire.md describes
 * them for clients in other languages.
 * @internal
 */
export const Header = {
  /** The request's message id. */
  id: "Covey-Id",
  /** Who sent the request. */
  sender: "Covey-Sender",
  /** Milliseconds the caller still waits for the reply. */
  timeout: "Covey-Timeout",
  /** The caller wants progress frames every this many ms (covey callers). */
  heartbeat: "Covey-Heartbeat",
  /** On a reply: `ok`, `error` or `working` (a progress frame). */
  status: "Covey-Status",
  /** On a publication: the publishing process (it delivers to its own subscribers itself). */
  origin: "Covey-Origin",
  /** On a publication: the message id and sender. */
  topic: "Covey-Topic",
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** Subject names of one mesh. @internal */
export class Subjects {
  readonly root: string;

  constructor(mesh: string) {
    this.root = `covey.${mesh}`;
  }

  /** Where requests to agent (or recipient) `name` go; responders subscribe in queue group {@link QUEUE}. */
  agent(name: string): string {
    return `${this.root}.agent.${encodeKey(name)}`;
  }

  /** Where cancellations go (every responding process listens). */
  get cancel(): string {
    return `${this.root}.cancel`;
  }

  /** The reply subjects of one process: `<prefix>.<n>`. */
  replies(processId: string): string {
    return `${this.root}.reply.${processId}`;
  }

  /** The subject of pub-sub topic `topic` (tokens escaped; `*` and `>` kept in subscriptions). */
  topic(topic: string, subscription: boolean): string {
    const tokens = topic.split(".").map((t) => (subscription && (t === "*" || t === ">") ? t : encodeKey(t)));
    return `${this.root}.pub.${tokens.join(".")}`;
  }
}

/** The queue group every responder of a name joins. @internal */
export const QUEUE = "covey";

/** JSON bytes of a payload; `undefined` is the empty payload. @internal */
export function encodeJson(value: unknown): Uint8Array {
  if (value === undefined) return EMPTY;
  return encoder.encode(JSON.stringify(value));
}

/** The payload's JSON value; the empty payload is `undefined`. @internal */
export function decodeJson(data: Uint8Array): unknown {
  if (data.length === 0) return undefined;
  return JSON.parse(decoder.decode(data)) as unknown;
}

/** An error as JSON (the body of a `Covey-Status: error` reply). @internal */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  issues?: readonly ValidationIssue[];
  /** The error is the caller's answer as it is (not a handler failure): a stopped agent, a rejected input. */
  direct?: boolean;
  cause?: WireError;
}

/** What a handler threw, as JSON. @internal */
export function encodeError(error: unknown, depth = 0): WireError {
  if (!(error instanceof Error)) return { name: "Error", message: typeof error === "string" ? error : safeString(error) };
  const out: WireError = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") out.code = code;
  if (error instanceof ValidationError) out.issues = error.issues;
  if (isPassThrough(error)) out.direct = true;
  if (depth < 3 && error.cause !== undefined) out.cause = encodeError(error.cause, depth + 1);
  return out;
}

/** The error a remote handler threw, rebuilt as the closest covey or built-in error class. @internal */
export function decodeError(w: WireError): Error {
  let err: Error;
  switch (w.code) {
    case "INVALID":
      err = new ValidationError(w.message, w.issues ?? []);
      break;
    case "CLOSED":
      err = new ClosedError(w.message.replace(/ is closed$/, ""));
      break;
    case "TIMEOUT":
      err = Object.assign(new TimeoutError("remote wait", 0), { message: w.message });
      break;
    case "NO_RESPONDER":
      err = Object.assign(new NoResponderError("remote"), { message: w.message });
      break;
    case "HANDLER_FAILED":
      err = new HandlerError("remote", w.cause !== undefined ? decodeError(w.cause) : w.message);
      err.message = w.message;
      break;
    default: {
      const Ctor = builtIn[w.name] ?? Error;
      err = new Ctor(w.message, w.cause !== undefined ? { cause: decodeError(w.cause) } : undefined);
      if (err.name !== w.name) err.name = w.name;
      if (w.code !== undefined && !(err instanceof CoveyError)) Object.assign(err, { code: w.code });
    }
  }
  return w.direct === true ? passThrough(err) : err;
}

const builtIn: Record<string, ErrorConstructor> = { Error, RangeError, TypeError, SyntaxError, ReferenceError, EvalError, URIError };

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return "unprintable value";
  }
}
