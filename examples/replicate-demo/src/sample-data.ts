/** A factory's last hour: what the demo writes to the local instance before replicating it. */
export interface SampleData {
  /** Line protocol, one point per line, ns timestamps. */
  lines: string[];
  /** Points written per table. */
  perTable: Map<string, number>;
}

const LINES = ["A", "B"];
const STATIONS = ["s1", "s2", "s3"];
const STEP_MS = 10_000;

/**
 * Points every 10 s over `[startMs, endMs)`: six machine series (a float, an integer, a string and a
 * boolean field), two energy series, a debug table the replication filters out, and three alarms whose
 * integer `code` the remote already holds as a string (the remote will refuse those three lines).
 */
export function makeSampleData(startMs: number, endMs: number): SampleData {
  const lines: string[] = [];
  const perTable = new Map<string, number>();
  const add = (table: string, line: string): void => {
    lines.push(line);
    perTable.set(table, (perTable.get(table) ?? 0) + 1);
  };
  let i = 0;
  for (let t = startMs; t < endMs; t += STEP_MS, i++) {
    const ns = `${t}000000`;
    for (const [l, line] of LINES.entries()) {
      for (const [s, station] of STATIONS.entries()) {
        const temp = (60 + 10 * Math.sin((i + s) / 30) + l).toFixed(2);
        const rpm = 1500 + ((i * 7 + s * 13) % 100);
        const status = rpm > 1590 ? "overspeed" : "ok";
        add(
          "machine",
          `machine,line=${line},station=${station} temp_c=${temp},rpm=${rpm}i,status="${status}",running=true ${ns}`,
        );
      }
      add("energy", `energy,line=${line} kwh=${(0.5 + (i % 6) / 10).toFixed(1)},phase=${1 + (i % 3)}i ${ns}`);
    }
    if (i % 36 === 0) add("debug_log", `debug_log,node=edge-1 msg="tick ${i}" ${ns}`);
    if (i % 120 === 5) add("alarms", `alarms,line=A code=${400 + i}i,text="over temperature" ${ns}`);
  }
  return { lines, perTable };
}
