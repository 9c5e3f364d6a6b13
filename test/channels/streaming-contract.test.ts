import { StreamingChannel } from "../../src/channels/streaming.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import { streamingContract } from "./streaming-contract.js";

// In-process: one channel on a virtual clock, used from both "sides".
streamingContract("StreamingChannel (in-process)", () => {
  const clock = new VirtualClock();
  const channel = new StreamingChannel({ clock });
  return Promise.resolve({
    a: channel,
    b: channel,
    info: (id: string) => channel.info(id),
    created: () => Promise.resolve(),
    elapse: (ms: number) => clock.advance(ms),
    close: () => {
      channel.close();
      return Promise.resolve();
    },
  });
});
