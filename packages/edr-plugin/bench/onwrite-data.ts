// What the on-write and catch-up benches write: line protocol as a fleet of agents sends it, five tables
// (cpu, mem, disk, net, http) of 500 hosts, 3–4 tags, 4–5 fields of mixed types (floats, integers, a
// boolean, a string), 100–150 bytes a line. Each body is one agent's flush: the tables in turn, every line
// with its own nanosecond timestamp, but one body in UNSTAMPED_EVERY comes without timestamps (a client that
// lets the server stamp them), so most lines carry one and edr's stamping path runs too. Bodies are gzipped
// at level 6, as Telegraf and the InfluxDB clients send them; compressing is done before anything is timed.
import { gzipSync } from "node:zlib";

/** Where the bench's timestamps start (2026-01-01, ns). */
const T0_NS = 1_767_225_600_000_000_000n;
export const HOSTS = 500;
/** One body in this many has no timestamps. */
export const UNSTAMPED_EVERY = 5;
export const LOCAL_DB = "edge";
export const REMOTE_DB = "central";
export const LOCAL_TOKEN = "bench-local-token";
export const REMOTE_TOKEN = "bench-remote-token";

/** Line `i` of the whole run (its table, host and values follow from `i`), with or without a timestamp. */
export function benchLine(i: number, stamped: boolean): string {
  const h = Math.floor(i / 5) % HOSTS;
  const host = `host-${String(h).padStart(4, "0")}`;
  const region = `eu-west-${h % 3}`;
  const time = stamped ? ` ${T0_NS + BigInt(i) * 1000n}` : "";
  const k = (i * 7919) % 100_000;
  switch (i % 5) {
    case 0:
      return (
        `cpu,host=${host},region=${region},cpu=cpu${h % 8} usage_user=${k / 1000},usage_system=${(k % 997) / 100},` +
        `usage_idle=${(100 - k / 1000).toFixed(3)},usage_iowait=${(k % 13) / 10}${time}`
      );
    case 1:
      return (
        `mem,host=${host},region=${region} used=${8_000_000_000 + k * 4096}i,free=${4_000_000_000 - k * 2048}i,` +
        `cached=${1_000_000_000 + k * 512}i,used_percent=${(k % 10_000) / 100}${time}`
      );
    case 2:
      return (
        `disk,host=${host},region=${region},device=sda${h % 4} used=${200_000_000_000 + k * 8192}i,` +
        `free=${50_000_000_000 - k * 4096}i,inodes_used=${k * 3}i,used_percent=${(k % 10_000) / 100}${time}`
      );
    case 3:
      return (
        `net,host=${host},region=${region},interface=eth${h % 2} bytes_recv=${k * 10_007}i,bytes_sent=${k * 7001}i,` +
        `packets_recv=${k * 13}i,err_in=${k % 3}i${time}`
      );
    default:
      return (
        `http,host=${host},region=${region},service=api,method=${k % 4 === 0 ? "POST" : "GET"} ` +
        `requests=${k % 5000}i,latency_ms=${(k % 25_000) / 100},ok=${k % 97 !== 0},status="${k % 97 === 0 ? "5xx seen" : "ok"}"${time}`
      );
  }
}

/** One body: lines `[first, first + count)`, stamped or not, gzipped (level 6). */
export function benchBody(first: number, count: number, stamped: boolean): Buffer {
  const lines = new Array<string>(count);
  for (let k = 0; k < count; k++) lines[k] = benchLine(first + k, stamped);
  return gzipSync(lines.join("\n"), { level: 6 });
}

/** Whether body `b` of a client (counting from 0) carries timestamps. */
export function isStamped(b: number): boolean {
  return b % UNSTAMPED_EVERY !== UNSTAMPED_EVERY - 1;
}

/** Every client's bodies, each client its own range of lines: `bodies[client][b]`. */
export function benchBodies(clients: number, bodiesPerClient: number, linesPerBody: number): Buffer[][] {
  return Array.from({ length: clients }, (_, c) =>
    Array.from({ length: bodiesPerClient }, (_, b) =>
      benchBody((c * bodiesPerClient + b) * linesPerBody, linesPerBody, isStamped(b)),
    ),
  );
}

/**
 * Points a server stores for {@link benchBodies}: one per line, but the lines of an unstamped body all get
 * that write's arrival time (edr stamps them so), and lines of one series at one time are one point.
 */
export function benchPoints(clients: number, bodiesPerClient: number, linesPerBody: number): number {
  let points = 0;
  for (let c = 0; c < clients; c++) {
    for (let b = 0; b < bodiesPerClient; b++) {
      if (isStamped(b)) {
        points += linesPerBody;
        continue;
      }
      const series = new Set<string>();
      const first = (c * bodiesPerClient + b) * linesPerBody;
      for (let i = first; i < first + linesPerBody; i++) {
        const line = benchLine(i, false);
        series.add(line.slice(0, line.indexOf(" ")));
      }
      points += series.size;
    }
  }
  return points;
}

/** The average line's length in bytes (stamped and not, in the bench's proportion), for the report. */
export function averageLineBytes(sample = 10_000): number {
  let bytes = 0;
  for (let i = 0; i < sample; i++) bytes += benchLine(i, isStamped(Math.floor(i / 1000))).length;
  return bytes / sample;
}
