/**
 * Soak: N streams, each created, sent to, closed and drained; prints the heap before, after,
 * and the number of streams still held.
 *
 *   node --expose-gc --import tsx test/channels/stream-soak.ts [N=1000000]
 */
import { StreamingChannel } from "../../src/channels/streaming.js";

const n = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");
const heap = (): number => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

const streams = new StreamingChannel();
const before = heap();
const started = performance.now();
for (let i = 0; i < n; i++) {
  const id = `stream-${i}`;
  streams.createStream(id, { highWaterMark: 4 });
  await streams.send(id, { i });
  await streams.send(id, { i: i + 1 });
  streams.closeStream(id);
  while ((await streams.receive(id)) !== undefined);
}
const ms = performance.now() - started;
const after = heap();
console.log(
  `${n} used-and-closed streams in ${(ms / 1000).toFixed(1)} s: heap ${before.toFixed(1)} MB -> ${after.toFixed(1)} MB ` +
    `(+${(after - before).toFixed(1)} MB), streams held ${[...streams.streamIds()].length}`,
);
