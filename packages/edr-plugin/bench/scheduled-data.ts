// The table the scheduled bench replicates: `cpu` of 100 hosts, one row per host per second, 3 tags and 5
// fields of mixed types (two floats, an integer, a string that now and then holds quotes, a boolean), about
// 130 bytes a line. Shared by the bench, the server process that stores it and the memory child.
import { parseScheduledConfig } from "edr-args";

/** Where the data starts: on an hour boundary, so a window of N hours is N one-hour chunks. */
export const T0_MS = Date.UTC(2026, 0, 1);
export const TABLE = "cpu";
export const SERIES = 100;
/** Rows per write when filling the local server (about 6.5 MB a body, under the 10 MiB limit). */
export const FILL_BODY_ROWS = 50_000;

/** Rows in `hours` hours of data. */
export function rowCount(hours: number): number {
  return SERIES * 3600 * hours;
}

/** Line protocol of rows `[from, to)`, in time order. */
export function tableLines(from: number, to: number): string[] {
  const lines: string[] = [];
  for (let i = from; i < to; i++) {
    const s = i % SERIES;
    const ms = T0_MS + Math.floor(i / SERIES) * 1000 + s * 7;
    const host = `edge-${String(s).padStart(3, "0")}`;
    const userPct = ((i * 7919) % 10_000) / 100;
    const systemPct = ((i * 104_729) % 1_000_000) / 1e6;
    const status = i % 50 === 0 ? `degraded: disk \\"sda${s % 4}\\" at 93%` : "ok";
    const fields =
      `usage_user=${userPct},usage_system=${systemPct},procs=${100 + (i % 400)}i,` +
      `status="${status}",healthy=${i % 50 !== 0}`;
    lines.push(`${TABLE},host=${host},region=eu-west-${s % 3},rack=r${s % 8} ${fields} ${ms}000000`);
  }
  return lines;
}

export const LOCAL_DB = "edge";
export const REMOTE_DB = "central";
export const LOCAL_TOKEN = "bench-local-token";
export const REMOTE_TOKEN = "bench-remote-token";

/** The scheduled config of the bench: the whole data set is one window of `hours`, no downsampling. */
export function benchConfig(localUrl: string, remoteUrl: string, queueDir: string, hours: number) {
  return parseScheduledConfig(
    `host=${remoteUrl},token=${REMOTE_TOKEN},database=${REMOTE_DB},` +
      `local_host=${localUrl},local_database=${LOCAL_DB},local_token=${LOCAL_TOKEN},` +
      `queue_dir=${queueDir},window=${hours}h`,
    { env: {} },
  );
}

/** The call whose window is the whole data set. */
export function benchCallTime(hours: number): Date {
  return new Date(T0_MS + hours * 3_600_000);
}
