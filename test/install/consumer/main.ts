/**
 * A program of someone who ran `npm install edr-args edr-transform edr-queue edr-sink edr-plugin`: it imports
 * each package by its name and uses it as its README shows. `install.test.ts` compiles it with tsc (strict,
 * NodeNext) against the installed declarations, in a project outside this repository, runs it with node and
 * reads one `ok <package>: …` line per package. In this repository it type-checks against the sources
 * (test/install/tsconfig.json maps the names), so it cannot drift from the packages' API unnoticed.
 *
 * Inputs come from the environment: the URLs and tokens of two InfluxDB-3-compatible servers (a local instance
 * holding `cpu` in `edge`, and a remote), a scratch directory and the scheduled time of one replication run.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ArgsError, parseScheduledConfig } from "edr-args";
import { createTransform, formatPoint, parseLines, renameTables } from "edr-transform";
import { createQueue } from "edr-queue";
import { createSink } from "edr-sink";
import { createReplicator, type ReplicatorLogger } from "edr-plugin";

function need(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

const remoteUrl = need("EDR_CHECK_REMOTE_URL");
const remoteToken = need("EDR_CHECK_REMOTE_TOKEN");
const localUrl = need("EDR_CHECK_LOCAL_URL");
const localToken = need("EDR_CHECK_LOCAL_TOKEN");
const dir = need("EDR_CHECK_DIR");
const callTime = new Date(need("EDR_CHECK_CALL_TIME"));

// edr-args: a trigger-argument string into a typed config; every problem at once in one ArgsError.
const config = parseScheduledConfig(
  "host=https://12.4.0.1,database=replica,tables=cpu.mem,window=1h,offset=10min," +
    "excluded_fields=cpu:usage_guest@usage_steal,tables_rename=mem:memory," +
    "field_renames=cpu:usage_idle@idle$usage_user@user",
  { env: { EDR_REMOTE_TOKEN: "t0ken" } },
);
assert.equal(config.remote.url, "https://12.4.0.1:443");
assert.equal(config.windowMs, 3_600_000);
assert.equal(config.offsetMs, 600_000);
assert.deepEqual(
  config.transform.fieldRenames.get("cpu"),
  new Map([
    ["usage_idle", "idle"],
    ["usage_user", "user"],
  ]),
);
assert.equal(config.queue.fileName, "edr_queue_schedule.jsonl.gz");
assert.throws(
  () => parseScheduledConfig("host=ftp://12.4.0.1,database=replica,tabels=cpu,window=10x", { env: {} }),
  (error: unknown) => {
    assert.ok(error instanceof ArgsError);
    assert.match(error.message, /^\[edr-args\] \d+ problems in the arguments:/);
    assert.match(error.message, /tabels: unknown argument; did you mean tables\?/);
    return true;
  },
);
console.log("ok edr-args: trigger arguments parsed, every problem reported");

// edr-transform: parse, rename and format lines; edr-args' transform config is taken as is.
const transform = createTransform({
  tables: ["cpu", "mem"],
  excludedFields: new Map([["cpu", new Set(["idle"])]]),
  fieldRenames: new Map([["cpu", new Map([["usage", "usage_pct"]])]]),
  tablesRename: new Map([["cpu", "cpu_remote"]]),
});
const transformed = transform.lines([
  "cpu,host=a usage=12.5,idle=87.5 1700000000000000000",
  "mem,host=a used=1i 1700000000000000000",
  "disk,host=a used=5i 1700000000000000000",
]);
assert.deepEqual(transformed.items, [
  "cpu_remote,host=a usage_pct=12.5 1700000000000000000",
  "mem,host=a used=1i 1700000000000000000",
]);
assert.equal(transformed.dropped, 1);
assert.deepEqual(transformed.rejected, []);
const [point] = parseLines('m,t=a\\ b f=1.5,n=9223372036854775807i,s="say \\"hi\\"" 1');
assert.ok(point);
assert.deepEqual(point.fields["n"], { type: "integer", value: 9223372036854775807n });
assert.equal(formatPoint(point), 'm,t=a\\ b f=1.5,n=9223372036854775807i,s="say \\"hi\\"" 1');
assert.deepEqual(renameTables({ tablesRename: new Map([["m", "m2"]]) }).lines(["m f=1 1"]).items, [
  "m2 f=1 1",
]);
assert.deepEqual(
  createTransform(config.transform).lines(["cpu,host=a usage_idle=1,usage_steal=2 1", "mem,host=a used=1i 1"])
    .items,
  ["cpu,host=a idle=1 1", "memory,host=a used=1i 1"],
);
console.log("ok edr-transform: lines parsed, renamed and formatted");

// edr-queue: append (durable), read, acknowledge, in a directory of its own.
const queueDir = join(dir, "queue");
const queue = await createQueue({ dir: queueDir, name: "writes" });
await queue.append([
  { table: "cpu", line: "cpu,host=a usage=0.5 1700000000000000000" },
  { table: "mem", line: "mem,host=a used=1024i 1700000000000000000" },
]);
assert.ok(existsSync(join(queueDir, "edr_queue_writes.jsonl.gz")));
const batch = await queue.read({ maxEntries: 1000 });
assert.deepEqual(
  batch.entries.map((entry) => entry.table),
  ["cpu", "mem"],
);
await queue.ack(batch);
assert.equal((await queue.read()).entries.length, 0);
assert.equal(queue.stats().entries, 0);
assert.equal(queue.stats().acknowledged, 2);
await queue.close();
await queue.close(); // safe twice
console.log("ok edr-queue: appended, read and acknowledged");

// edr-sink: a write with one good line and one the remote refuses (a field changing type).
const sink = createSink({ url: remoteUrl, token: remoteToken, database: "sink_check" });
const written = await sink.write([
  "sink,host=a usage=0.5 1700000000000000000",
  'sink,host=a usage="oops" 1700000001000000000',
]);
assert.equal(written.delivered, 1, JSON.stringify(written.outcomes));
assert.equal(written.rejected, 1, JSON.stringify(written.outcomes));
assert.equal(written.outcomes[0]?.kind, "delivered");
assert.equal(written.outcomes[1]?.kind, "rejected");
assert.equal(written.halted, undefined);
await sink.close();
console.log("ok edr-sink: 1 line delivered, 1 rejected with the remote's reason");

// edr-plugin: one scheduled run from the local instance to the remote, then its status.
const log: string[] = [];
const logger: ReplicatorLogger = {
  info: (message) => log.push(message),
  warn: (message) => log.push(`WARN ${message}`),
  error: (message) => log.push(`ERROR ${message}`),
};
const scheduled = parseScheduledConfig(
  `host=${remoteUrl},database=replica,local_host=${localUrl},local_database=edge,tables=cpu,window=10min,` +
    `tables_rename=cpu:cpu_copy,queue_dir=${join(dir, "replicator")}`,
  { env: { EDR_REMOTE_TOKEN: remoteToken, EDR_LOCAL_TOKEN: localToken } },
);
const replicator = await createReplicator(scheduled, { logger });
const report = await replicator.processScheduledCall(callTime);
assert.deepEqual(report.errors, []);
const status = replicator.status();
assert.equal(status.mode, "scheduled");
assert.equal(status.state, "healthy", status.reason);
assert.equal(status.reconciled, true);
assert.ok(status.lines.delivered > 0, JSON.stringify(status.lines));
assert.equal(status.lines.delivered, report.queued);
assert.equal(status.lines.queued, 0);
assert.ok(
  log.some((line) => line.endsWith(`Replicated ${report.queued} lines to remote instance`)),
  log.join("\n"),
);
await replicator.close();
await replicator.close(); // safe twice
console.log(`ok edr-plugin: ${status.lines.delivered} lines replicated, status ${status.state}`);
