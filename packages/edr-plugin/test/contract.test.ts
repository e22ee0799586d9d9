// The contract between edr-args and the packages that take its config: each part of a parsed config is
// passed as is (no mapping), and what two packages both state (types, defaults) is the same.
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as args from "edr-args";
import {
  parseScheduledConfig,
  parseWritesConfig,
  type AggregateFunction,
  type ParseConfigOptions,
  type QueueConfig,
  type RemoteConfig,
  type TransformConfig,
  type WriteApi as ArgsWriteApi,
} from "edr-args";
import * as queueDefaults from "edr-queue";
import { createQueue, QueueError, type QueueOptions } from "edr-queue";
import * as sinkDefaults from "edr-sink";
import { createSink, type SinkOptions, type WriteApi as SinkWriteApi } from "edr-sink";
import { startInfluxDB3Server, type InfluxDB3TestServer } from "edr-testkit";
import {
  createTransform,
  formatPoints,
  parseLines,
  type Aggregation,
  type ReplicationRules,
} from "edr-transform";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

const TOKEN = "contract-secret-token-31";
const MIB = 1024 * 1024;

/** True when A and B are the same type (not merely assignable one way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

// Type-level contract: each part of the config is the options of the package that takes it.
const remoteIsSinkOptions = (remote: RemoteConfig): SinkOptions => remote;
const queueIsQueueOptions = (queue: QueueConfig): QueueOptions => queue;
const transformIsRules = (transform: TransformConfig): ReplicationRules => transform;
const writeApisAgree: Equal<ArgsWriteApi, SinkWriteApi> = true;
const aggregationsAgree: Equal<AggregateFunction, Aggregation> = true;

let dir: string;
let options: ParseConfigOptions;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edr-contract-"));
  options = { env: {}, homeDir: dir, cwd: dir };
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe("config.queue is edr-queue's options", () => {
  const cases = [
    ["scheduled", "", "edr_queue_schedule.jsonl.gz"],
    ["scheduled", ",unique_file_suffix=suffix123", "edr_queue_schedule_suffix123.jsonl.gz"],
    ["writes", "", "edr_queue_writes.jsonl.gz"],
    ["writes", ",unique_file_suffix=a-B_9", "edr_queue_writes_a-B_9.jsonl.gz"],
    // The longest suffix edr-args takes, of every character it allows.
    [
      "writes",
      `,unique_file_suffix=${"aZ9_-".repeat(12)}abcd`,
      `edr_queue_writes_${"aZ9_-".repeat(12)}abcd.jsonl.gz`,
    ],
  ] as const;

  it.each(cases)(
    "%s mode%s: createQueue(config.queue) writes exactly join(dir, fileName)",
    async (mode, extra, file) => {
      const text = `host=127.0.0.1,token=${TOKEN},database=replica,queue_dir=${dir}${extra}`;
      const config =
        mode === "scheduled"
          ? parseScheduledConfig(`${text},window=1h`, options)
          : parseWritesConfig(text, options);
      expect(config.queue.fileName).toBe(file);
      const queue = await createQueue(queueIsQueueOptions(config.queue));
      try {
        await queue.append([{ table: "cpu", line: "cpu v=1 1" }]);
      } finally {
        await queue.close();
      }
      const files = await readdir(config.queue.dir);
      expect(files).toContain(config.queue.fileName);
      // Every file of the queue is this queue's: its head and side files share the name's prefix.
      const prefix = config.queue.fileName.replace(/\.jsonl\.gz$/, "");
      for (const name of files) expect(name.startsWith(prefix)).toBe(true);
    },
  );

  it("respects maxBytes (max_size in MB)", async () => {
    const config = parseWritesConfig(`host=h,token=${TOKEN},database=d,queue_dir=${dir},max_size=1`, options);
    expect(config.queue.maxBytes).toBe(MIB);
    const queue = await createQueue(config.queue);
    try {
      await queue.append([{ table: "t", line: "t v=1 1" }]);
      // Random text does not compress below 1 MiB.
      const lines = Array.from({ length: 64 }, () => ({
        table: "t",
        line: `t s="${randomBytes(24 * 1024).toString("base64")}" 2`,
      }));
      const full = await queue.append(lines).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(full).toBeInstanceOf(QueueError);
      expect((full as QueueError).code).toBe("FULL");
      expect(queue.stats().entries).toBe(1);
      expect(queue.stats().bytes).toBeLessThanOrEqual(config.queue.maxBytes);
    } finally {
      await queue.close();
    }
  });
});

describe("config.remote is edr-sink's options", () => {
  let server: InfluxDB3TestServer;
  let port: number;
  beforeAll(async () => {
    server = await startInfluxDB3Server({ token: TOKEN });
    port = Number(new URL(server.url).port);
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.reset();
    // A sink that gives up says so on the console; that is expected here.
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
  });

  const remote = (extra: string) =>
    parseWritesConfig(`token=${TOKEN},database=replica,queue_dir=${dir},${extra}`, options).remote;

  it.each([
    ["v3", "/api/v3/write_lp", "db"],
    ["v2", "/api/v2/write", "bucket"],
    ["v1", "/write", "db"],
  ] as const)(
    "writes to the port, database and write API the arguments name (%s)",
    async (api, path, key) => {
      const config = remote(`host=127.0.0.1,port_override=${port},write_api=${api}`);
      expect(config.port).toBe(port);
      const sink = createSink(remoteIsSinkOptions(config));
      try {
        const result = await sink.write([`cpu,host=a usage=1.5 1000000000`]);
        expect(result.delivered).toBe(1);
      } finally {
        await sink.close();
      }
      expect(server.requests.map((r) => [r.path, r.query[key]])).toEqual([[path, "replica"]]);
      expect(server.points("replica", "cpu")).toHaveLength(1);
    },
  );

  it("goes to the port in host, not to port_override, as edr-args' port rule says", async () => {
    // port_override would send to port 1, where nothing listens: both packages must agree that host wins.
    const config = remote(`host=http://127.0.0.1:${port},port_override=1`);
    expect([config.port, config.portOverride, config.url]).toEqual([port, 1, `http://127.0.0.1:${port}`]);
    const sink = createSink(config);
    try {
      expect((await sink.write(["cpu v=1 1"])).delivered).toBe(1);
    } finally {
      await sink.close();
    }
    expect(server.requests).toHaveLength(1);
  });

  it("makes max_retries the retries of a request after its first attempt: at most 1 + max_retries sends", async () => {
    const config = remote(`host=127.0.0.1,port_override=${port},max_retries=2`);
    expect(config.maxRetries).toBe(2);
    const sink = createSink(config);
    try {
      // Retry-After: 0 keeps the test fast without changing the sink's options.
      server.faults.failNext(2, { status: 503, retryAfter: 0 });
      const second = await sink.write(["cpu v=1 1"]);
      expect([second.delivered, second.requests, server.requests.length]).toEqual([1, 3, 3]);

      server.reset();
      server.faults.failNext(3, { status: 503, retryAfter: 0 });
      const gaveUp = await sink.write(["cpu v=2 2"]);
      expect([gaveUp.delivered, gaveUp.notDelivered, gaveUp.requests, server.requests.length]).toEqual([
        0, 1, 3, 3,
      ]);
      const outcome = gaveUp.outcomes[0];
      expect(outcome?.kind).toBe("not_delivered");
      expect(outcome?.kind === "not_delivered" ? outcome.reason : "").toMatch(/gave up after 3 attempts/);
    } finally {
      await sink.close();
    }
  });

  it("with max_retries=0 sends each request once", async () => {
    const sink = createSink(remote(`host=127.0.0.1,port_override=${port},max_retries=0`));
    try {
      server.faults.failNext(1, { status: 503, retryAfter: 0 });
      const result = await sink.write(["cpu v=1 1"]);
      expect([result.notDelivered, result.requests, server.requests.length]).toEqual([1, 1, 1]);
    } finally {
      await sink.close();
    }
  });
});

describe("config.transform is edr-transform's rules", () => {
  const lines = [
    "cpu,host=a,core=0 usage=10,idle=90 0",
    "cpu,host=a,core=1 usage=30,idle=70 30000000000",
    "cpu,host=a,core=0 usage=20,idle=80 60000000000",
    "mem,host=a used=4i 0",
    "disk,host=a used=5i 0",
  ];
  const base =
    "host=h,token=t,database=d,tables=cpu.mem,excluded_fields=cpu:idle@core," +
    "field_renames=cpu:usage@usage_pct,tables_rename=cpu:cpu_remote";

  it("filters, excludes and renames as the arguments say", () => {
    const config = parseWritesConfig(base, options);
    const result = createTransform(transformIsRules(config.transform)).lines(lines);
    expect(result.items).toEqual([
      "cpu_remote,host=a usage_pct=10 0",
      "cpu_remote,host=a usage_pct=30 30000000000",
      "cpu_remote,host=a usage_pct=20 60000000000",
      "mem,host=a used=4i 0",
    ]);
    expect(result.dropped).toBe(1);
    expect(result).not.toHaveProperty("downsampled");
  });

  it("downsamples as aggregate_interval and aggregations say, by local names, before the renames", () => {
    const config = parseScheduledConfig(
      `${base},window=1h,aggregate_interval=1min,aggregations=cpu:usage@max`,
      options,
    );
    const result = createTransform(config.transform).lines(lines);
    expect(result.items).toEqual([
      "cpu_remote,host=a usage_pct=30 0",
      "mem,host=a used=4 0",
      "cpu_remote,host=a usage_pct=20 60000000000",
    ]);
    expect([result.dropped, result.downsampled, result.problems]).toEqual([1, 4, []]);
    // The points path agrees.
    const points = createTransform(config.transform).points(lines.flatMap((line) => parseLines(line)));
    expect(formatPoints(points.items)).toEqual(result.items);
  });
});

describe("defaults stated by two packages", () => {
  it("agree between edr-args and edr-sink, and edr-args and edr-queue", () => {
    expect({
      writeApi: args.DEFAULT_WRITE_API,
      maxRetries: args.DEFAULT_MAX_RETRIES,
      batchLines: args.DEFAULT_BATCH_LINES,
      batchBytes: args.DEFAULT_BATCH_BYTES,
      maxInFlight: args.DEFAULT_MAX_IN_FLIGHT,
      timeoutMs: args.DEFAULT_TIMEOUT_MS,
    }).toEqual({
      writeApi: sinkDefaults.DEFAULT_WRITE_API,
      maxRetries: sinkDefaults.DEFAULT_MAX_RETRIES,
      batchLines: sinkDefaults.DEFAULT_BATCH_LINES,
      batchBytes: sinkDefaults.DEFAULT_BATCH_BYTES,
      maxInFlight: sinkDefaults.DEFAULT_MAX_IN_FLIGHT,
      timeoutMs: sinkDefaults.DEFAULT_TIMEOUT_MS,
    });
    expect(args.DEFAULT_MAX_SIZE_MB * MIB).toBe(queueDefaults.DEFAULT_MAX_BYTES);
  });

  it("are what a config without those arguments holds", () => {
    const config = parseWritesConfig("host=h,token=t,database=d", options);
    expect(config.remote).toMatchObject({
      writeApi: sinkDefaults.DEFAULT_WRITE_API,
      maxRetries: sinkDefaults.DEFAULT_MAX_RETRIES,
      batchLines: sinkDefaults.DEFAULT_BATCH_LINES,
      batchBytes: sinkDefaults.DEFAULT_BATCH_BYTES,
      maxInFlight: sinkDefaults.DEFAULT_MAX_IN_FLIGHT,
      timeoutMs: sinkDefaults.DEFAULT_TIMEOUT_MS,
      verifySsl: true,
    });
    expect(config.queue.maxBytes).toBe(queueDefaults.DEFAULT_MAX_BYTES);
    expect(writeApisAgree && aggregationsAgree).toBe(true);
  });
});
