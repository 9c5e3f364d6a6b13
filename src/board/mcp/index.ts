export { createBoardServer, BoardResource } from "./server.js";
export type { BoardServerOptions } from "./server.js";
export { serveBoardHttp } from "./http.js";
export type { BoardHttpOptions, BoardHttpServer } from "./http.js";
export type { ToolPreset } from "./tools.js";
