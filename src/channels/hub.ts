import { resolveRuntime, type RuntimeOptions } from "../runtime/runtime.js";
import type { Message } from "./message.js";
import { PubSubChannel } from "./pub-sub.js";
import { RequestReplyChannel } from "./request-reply.js";
import { StreamingChannel } from "./streaming.js";
import type { PublishTransport, RequestTransport } from "./transport.js";

/** Options of a {@link CommunicationHub}. */
export interface CommunicationHubOptions extends RuntimeOptions {
  /** Passed on to the pub-sub channel: receives what a subscriber threw and its message. */
  onError?: (error: unknown, message: Message) => void;
  /** @internal where requests travel (a backend's); in-process when absent. */
  requestTransport?: RequestTransport | undefined;
  /** @internal where publications travel (a backend's); in-process when absent. */
  publishTransport?: PublishTransport | undefined;
  /** @internal the streaming channel to use (a backend's); a new in-process one when absent. */
  streaming?: StreamingChannel | undefined;
}

/**
 * The three channels of one system on one runtime (clock, deadline queue, scheduler, ids):
 * request-reply, publish-subscribe and streaming. The textbook's `UnifiedCommunicationHub`.
 *
 * @example
 * ```ts
 * const hub = new CommunicationHub();
 * hub.requestReply.registerHandler("echo", (m) => m.payload);
 * await hub.requestReply.request("me", "echo", "hi"); // "hi"
 * hub.close();
 * ```
 */
export class CommunicationHub {
  /** Requests to named recipients, each answered by one handler. */
  readonly requestReply: RequestReplyChannel;
  /** Publications on topics, delivered to every matching subscriber. */
  readonly pubSub: PubSubChannel;
  /** Bounded, ordered streams with backpressure. */
  readonly streaming: StreamingChannel;

  constructor(opts?: CommunicationHubOptions) {
    const runtime = resolveRuntime(opts);
    const requestTransport = opts?.requestTransport;
    const publishTransport = opts?.publishTransport;
    this.requestReply = new RequestReplyChannel(requestTransport === undefined ? { runtime } : { runtime, transport: requestTransport });
    this.pubSub = new PubSubChannel({
      runtime,
      ...(opts?.onError === undefined ? {} : { onError: opts.onError }),
      ...(publishTransport === undefined ? {} : { transport: publishTransport }),
    });
    this.streaming = opts?.streaming ?? new StreamingChannel({ runtime });
  }

  /**
   * Closes the three channels: pending requests and blocked senders get `ClosedError`,
   * subscriptions and handlers are dropped, waiting receivers get `undefined`. Idempotent.
   */
  close(): void {
    this.requestReply.close();
    this.pubSub.close();
    this.streaming.close();
  }
}
