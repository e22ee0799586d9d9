import * as http from "node:http";
import { createSink } from "./src/index.js";
const n = 1_000_000;
let lines = new Array<string>(n);
for (let i = 0; i < n; i++) {
  const s = i % 1000;
  lines[i] =
    `bench,host=host${s},region=r${s % 7} usage=${(i % 1000) / 10},count=${i}i ${1_700_000_000_000_000_000 + i}`;
}
lines = JSON.parse(JSON.stringify(lines)) as string[];
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => res.writeHead(204).end());
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
const times: number[] = [];
for (let r = 0; r < 7; r++) {
  const sink = createSink({ url, database: "b" });
  const t = performance.now();
  await sink.write(lines);
  times.push(performance.now() - t);
  await sink.close();
}
console.log(
  process.env.VARIANT,
  times.map((t) => t.toFixed(0)).join(" "),
  "min",
  Math.min(...times).toFixed(0),
);
server.close();
server.closeAllConnections();
