// `edr listen` composed as listen-command.ts composes it (createReplicator, the status and table-batches
// routes, createListenServer, start with a 1 s flush), in a process of its own, with one thing the command
// does not offer: the queues' fsync policy (`always` or `never`), which `createReplicator` takes as an option
// and `edr listen` has no flag for. The on-write bench runs it to price the durable queue
// (`plugin.onwrite_durable_cost`), both policies through this same process, and also beside the real command
// at `always`, so the two can be compared.
// argv: local URL, remote URL, queue dir, fsync, and optionally an experiment, `keep-delivery` or
// `single-queue` (below). Prints `edr listen: <url> in front of …` on stderr as the
// command does; SIGTERM closes it as the command does (server first, then the replicator).
import { parseWritesConfig } from "edr-args";
import type { Queue } from "edr-queue";
import { statusRoutes, TABLE_BATCHES_PATH, tableBatchesRoute } from "../src/http/routes.js";
import { createListenServer } from "../src/listen/listen-server.js";
import type { WriteIntake } from "../src/listen/write-intake.js";
import { consoleLogger } from "../src/logger.js";
import { createReplicator, DEFAULT_FLUSH_INTERVAL_MS } from "../src/replicator.js";
import { LOCAL_DB, REMOTE_DB, REMOTE_TOKEN } from "./onwrite-data.js";

const [localUrl, remoteUrl, queueDir, fsync, experiment = ""] = process.argv.slice(2);
if (
  localUrl === undefined ||
  remoteUrl === undefined ||
  queueDir === undefined ||
  (fsync !== "always" && fsync !== "never")
) {
  throw new Error("[edr-plugin bench] onwrite-child: <local url> <remote url> <queue dir> always|never");
}
const config = parseWritesConfig(
  `host=${remoteUrl},token=${REMOTE_TOKEN},database=${REMOTE_DB},local_host=${localUrl},` +
    `local_database=${LOCAL_DB},queue_dir=${queueDir}`,
  { env: {} },
);
const replicator = await createReplicator(config, { logger: consoleLogger, fsync });
if (experiment === "keep-delivery") {
  // An experiment, not edr's behaviour: every call (the flush each second) aborts the drain loop's delivery
  // pass, which then stops sending and waits for its requests in flight before the loop starts another.
  // Hiding the pass from the replicator (its private `backgroundPass`) keeps it running across flushes, to
  // measure what those restarts cost the catch-up (catchup.ts, EDR_BENCH_CATCHUP_KIND=child-keep-delivery).
  Object.defineProperty(replicator, "backgroundPass", { get: () => undefined, set: () => undefined });
}
let intake: WriteIntake = replicator.intake!;
if (experiment === "single-queue") {
  // An experiment, not edr's behaviour: the endpoint appends the lines it is handed straight to the main
  // queue (the replicator's private `parts.queue`), skipping the intake and the flush's second pass through a
  // queue, as edr could when it neither downsamples nor transforms. The status then counts nothing as
  // accepted; delivered and queued stay right. (onwrite.ts, EDR_BENCH_ONWRITE_KINDS=…,child-single-queue.)
  const queue = (replicator as unknown as { parts: { queue: Queue } }).parts.queue;
  const own = intake;
  intake = {
    refusal: () => own.refusal(),
    accept: async (lines) => {
      await queue.append(lines);
      return lines.length;
    },
  };
}
try {
  const routes = statusRoutes(replicator);
  routes.set(TABLE_BATCHES_PATH, tableBatchesRoute(replicator));
  const server = await createListenServer({
    localUrl,
    database: LOCAL_DB,
    intake,
    host: "127.0.0.1",
    port: 0,
    routes,
    logger: consoleLogger,
  });
  replicator.start({ flushIntervalMs: DEFAULT_FLUSH_INTERVAL_MS });
  process.stderr.write(`edr listen: ${server.url} in front of ${localUrl} (bench child, fsync ${fsync})\n`);
  await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
  await server.close();
} finally {
  await replicator.close();
}
