export { CommunicationHub } from "./hub.js";
export type { CommunicationHubOptions } from "./hub.js";
export type { Message, MessageHandler, MessagePattern, PublishResult, RequestHandler } from "./message.js";
export { PubSubChannel } from "./pub-sub.js";
export type { PubSubOptions } from "./pub-sub.js";
export { RequestReplyChannel } from "./request-reply.js";
export type { PendingRequestInfo, RequestReplyOptions } from "./request-reply.js";
export { StreamingChannel } from "./streaming.js";
export type { StreamInfo, StreamOptions } from "./streaming.js";
