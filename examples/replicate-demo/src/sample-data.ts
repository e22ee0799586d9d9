// A factory's edge: what the demo's writers send, one call per 100 ms tick.

const LINES = ["A", "B"];
const STATIONS = ["s1", "s2", "s3"];

/** One point for each of the six machines (two lines of three stations): a float, an integer, a string, a boolean. */
export function machineLines(tick: number, nowMs: number): string[] {
  const lines: string[] = [];
  for (const [l, line] of LINES.entries()) {
    for (const [s, station] of STATIONS.entries()) {
      const temp = (60 + 10 * Math.sin((tick + s) / 30) + l).toFixed(2);
      const rpm = 1500 + ((tick * 7 + s * 13) % 100);
      const status = rpm > 1590 ? "overspeed" : "ok";
      // Each machine stamps its own points, a millisecond apart, so no two points of a series share a time.
      const ns = BigInt(nowMs + l * 3 + s) * 1_000_000n;
      lines.push(
        `machine,line=${line},station=${station} temp_c=${temp},rpm=${rpm}i,status="${status}",running=true ${ns}`,
      );
    }
  }
  return lines;
}

/** An alarm with an integer code (the remote holds `code` as a string: it will refuse these). */
export function alarmLine(tick: number, nowMs: number): string {
  return `alarms,line=A code=${400 + tick}i,text="over temperature" ${BigInt(nowMs) * 1_000_000n}`;
}

/** The energy meter's reading, written to the local instance directly. */
export function energyLine(tick: number, nowMs: number): string {
  return `energy,line=A kwh=${(0.5 + (tick % 6) / 10).toFixed(1)},phase=${1 + (tick % 3)}i ${BigInt(nowMs) * 1_000_000n}`;
}
