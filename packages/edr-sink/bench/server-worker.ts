// The edr-testkit server in its own thread, so that in the bench it does not share the sink's event loop
// (a real remote runs elsewhere): messages "reset", "inOrder" (are all series stored in write order?), "close".
import { parentPort, workerData } from "node:worker_threads";
import { startInfluxDB3Server } from "edr-testkit";

const port = parentPort;
if (port === null) throw new Error("[edr-sink bench] server-worker must run in a worker thread");
const server = await startInfluxDB3Server(workerData as Parameters<typeof startInfluxDB3Server>[0]);

function seriesInOrder(): boolean {
  const last = new Map<string, bigint>();
  for (const p of server.points("bench")) {
    const key = JSON.stringify(p.tags);
    const before = last.get(key);
    if (before !== undefined && p.timeNs <= before) return false;
    last.set(key, p.timeNs);
  }
  return true;
}

port.on("message", (message: { id: number; op: "reset" | "inOrder" | "close" }) => {
  void (async () => {
    let value: unknown;
    if (message.op === "reset") server.reset();
    else if (message.op === "inOrder") value = seriesInOrder();
    else await server.close();
    port.postMessage({ id: message.id, value });
    if (message.op === "close") port.close();
  })();
});
port.postMessage({ id: 0, value: server.url });
