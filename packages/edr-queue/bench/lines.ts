import type { QueueEntry } from "../src/index.js";

/** Deterministic line-protocol entries of about 120 bytes of JSON each, with realistic float noise. */
export function makeEntries(from: number, count: number): QueueEntry[] {
  const out: QueueEntry[] = new Array<QueueEntry>(count);
  for (let k = 0; k < count; k++) {
    const i = from + k;
    const x = Math.sin(i * 12.9898) * 43758.5453;
    const noise = (x - Math.floor(x)) * 100;
    out[k] = {
      table: "cpu",
      line: `cpu,host=server${i % 64},region=eu-west-${i % 3} usage_user=${noise.toFixed(4)},usage_system=${i % 9973}i ${1_700_000_000_000_000_000n + BigInt(i)}`,
    };
  }
  return out;
}

/**
 * Entries shaped like edr-plugin's scheduled bench (about 150 bytes of JSON): a string field on every line,
 * so every line holds quotes that JSON escapes, and now and then escaped quotes inside it.
 */
export function makeQuotedEntries(from: number, count: number): QueueEntry[] {
  const out: QueueEntry[] = new Array<QueueEntry>(count);
  for (let k = 0; k < count; k++) {
    const i = from + k;
    const s = i % 100;
    const status = i % 50 === 0 ? `degraded: disk \\"sda${s % 4}\\" at 93%` : "ok";
    out[k] = {
      table: "cpu",
      line:
        `cpu,host=edge-${String(s).padStart(3, "0")},region=eu-west-${s % 3},rack=r${s % 8} ` +
        `usage_user=${((i * 7919) % 10_000) / 100},usage_system=${((i * 104_729) % 1_000_000) / 1e6},` +
        `procs=${100 + (i % 400)}i,status="${status}",healthy=${i % 50 !== 0} ${1_767_225_600_000 + i}000000`,
    };
  }
  return out;
}
