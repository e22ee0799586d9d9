import { Counter, Gauge, Registry } from "prom-client";
import type { ReplicatorStatus } from "../replicator-types.js";

/** What the metrics read at each scrape. */
export type StatusSource = () => ReplicatorStatus;

/**
 * The replicator's metrics in the Prometheus text format, through prom-client: every value is read from
 * `status()` when scraped, so nothing has to be counted twice. Names start with `edr_`; counters end in
 * `_total`; times are Unix seconds.
 */
export function createMetricsRegistry(status: StatusSource): Registry {
  const registry = new Registry();
  let snapshot: ReplicatorStatus | undefined;
  // One status per scrape, taken by the first metric collected (prom-client collects in registration order).
  const current = (): ReplicatorStatus => (snapshot ??= status());
  const registers = [registry];

  const gauge = (name: string, help: string, read: (s: ReplicatorStatus) => number | undefined) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const value = read(current());
        this.reset();
        if (value !== undefined) this.set(value);
      },
    });
  const labelled = <L extends string>(
    kind: "gauge" | "counter",
    name: string,
    help: string,
    label: L,
    read: (s: ReplicatorStatus) => Readonly<Record<string, number>>,
  ) => {
    const options = {
      name,
      help,
      labelNames: [label],
      registers,
      collect(this: Gauge<L> | Counter<L>) {
        this.reset();
        for (const [key, value] of Object.entries(read(current()))) {
          const labels = { [label]: key } as Record<L, string>;
          if (this instanceof Gauge) this.set(labels, value);
          else this.inc(labels, value);
        }
      },
    };
    return kind === "gauge" ? new Gauge<L>(options) : new Counter<L>(options);
  };
  const counter = (name: string, help: string, read: (s: ReplicatorStatus) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(current()));
      },
    });

  new Gauge({
    name: "edr_state",
    help: "1 for the replicator's state (healthy, degraded, halted), 0 for the others",
    labelNames: ["state"],
    registers,
    collect() {
      snapshot = status();
      const state = snapshot.state.startsWith("halted") ? "halted" : snapshot.state;
      for (const name of ["healthy", "degraded", "halted"]) this.set({ state: name }, name === state ? 1 : 0);
    },
  });
  gauge(
    "edr_lag_seconds",
    "Age of the oldest queued line: how far the remote is behind",
    (s) => s.lagSeconds,
  );
  gauge("edr_queue_lines", "Lines queued for the remote", (s) => s.queue.entries);
  gauge("edr_queue_bytes", "Bytes of the queue on disk (compressed)", (s) => s.queue.bytes);
  gauge("edr_queue_max_bytes", "The queue's limit (max_size)", (s) => s.queue.maxBytes);
  gauge(
    "edr_intake_lines",
    "On-write: written lines waiting for the next flush or their bucket",
    (s) => s.intake?.entries,
  );
  labelled("counter", "edr_lines_accepted_total", "Lines accepted for replication (queued)", "table", (s) =>
    Object.fromEntries(Object.entries(s.perTable).map(([table, counts]) => [table, counts.accepted])),
  );
  counter("edr_lines_delivered_total", "Lines the remote stored", (s) => s.lines.delivered);
  labelled(
    "counter",
    "edr_lines_dead_lettered_total",
    "Lines the remote refused for good, kept in the dead-letter file, by its status",
    "status",
    (s) => s.deadLettersByStatus,
  );
  labelled(
    "counter",
    "edr_lines_refused_total",
    "Lines refused before the queue (row conversion, transform), by stage",
    "reason",
    (s) => s.refusedByReason,
  );
  counter(
    "edr_lines_late_total",
    "On-write downsampling: points for buckets already emitted",
    (s) => s.lines.late,
  );
  counter(
    "edr_lines_dropped_total",
    "Lines the queue dropped (drop-oldest policy only)",
    (s) => s.lines.dropped,
  );
  labelled(
    "counter",
    "edr_requests_total",
    "Write requests to the remote, by answer",
    "status",
    (s) => s.answersByStatus,
  );
  labelled(
    "counter",
    "edr_retries_total",
    "Write requests sent again, by the answer that made them retry",
    "status",
    (s) => s.retriesByStatus,
  );
  gauge("edr_last_success_timestamp_seconds", "When the remote last stored lines", (s) =>
    s.lastSuccessTime === undefined ? undefined : Date.parse(s.lastSuccessTime) / 1000,
  );
  labelled(
    "gauge",
    "edr_watermark_timestamp_seconds",
    "Scheduled: each table is replicated up to this time",
    "table",
    (s) =>
      Object.fromEntries(Object.entries(s.watermarks).map(([table, iso]) => [table, Date.parse(iso) / 1000])),
  );
  gauge(
    "edr_buckets_emitted_until_timestamp_seconds",
    "On-write downsampling: buckets ending at or before this time are emitted",
    (s) => (s.intake?.emittedUntil === undefined ? undefined : Date.parse(s.intake.emittedUntil) / 1000),
  );
  return registry;
}
