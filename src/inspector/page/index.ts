import { agentsJs } from "./agents.js";
import { appJs } from "./app.js";
import { coordinationJs } from "./coordination.js";
import { coreJs } from "./core.js";
import { messagesJs } from "./messages.js";
import { replayJs } from "./replay.js";
import { sequenceJs } from "./sequence.js";
import { stateJs } from "./state.js";

export { pageHtml } from "./html.js";
export { pageCss } from "./style.js";

/** The page's script: one module, the shared code first and the router last. @internal */
export const pageJs: string = [coreJs, sequenceJs, messagesJs, agentsJs, stateJs, coordinationJs, replayJs, appJs].join("\n");
