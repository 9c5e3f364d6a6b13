import { parseArgs } from "node:util";
import { ValidationError } from "../errors.js";

/** What `covey-inspect` was asked to do. @internal */
export interface CliArgs {
  /** NATS server URL(s), from `--nats` (repeatable). */
  servers: string[];
  /** The mesh to join, `--mesh`. @default "covey" */
  mesh: string;
  port: number;
  host: string;
  allowCalls: boolean;
  help: boolean;
}

/** The usage text of `covey-inspect`. @internal */
export const USAGE = `usage: covey-inspect --nats nats://127.0.0.1:4222 [--nats URL ...] [--mesh covey] [--port 0] [--host 127.0.0.1] [--allow-calls]

Joins a covey mesh over NATS (adding no agents) and serves the inspector page of the whole
mesh: every process's agents with their liveness, the shared state, the flow of messages and
calls through the Catalog form when --allow-calls is given. Ctrl-C stops it.`;

/**
 * Parses `covey-inspect`'s arguments.
 * @throws ValidationError on an unknown option, a missing `--nats` or a bad port
 * @internal
 */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        nats: { type: "string", multiple: true },
        mesh: { type: "string", default: "covey" },
        port: { type: "string", default: "0" },
        host: { type: "string", default: "127.0.0.1" },
        "allow-calls": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new ValidationError(`covey-inspect: ${error instanceof Error ? error.message : String(error)}`, [], { cause: error });
  }
  const help = values.help;
  const servers = values.nats ?? [];
  if (servers.length === 0 && !help) throw new ValidationError("covey-inspect: --nats <url> is required", [{ path: ["nats"], message: "required" }]);
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) {
    throw new ValidationError(`covey-inspect: --port must be an integer from 0 to 65535, got ${JSON.stringify(values.port)}`, [{ path: ["port"], message: "must be an integer in 0..65535" }]);
  }
  return { servers, mesh: values.mesh, port, host: values.host, allowCalls: values["allow-calls"], help };
}
