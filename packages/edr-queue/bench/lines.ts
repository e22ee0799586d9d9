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
      line: `cpu,host=server${i % 64},region=eu-west-${i % 3} usage_user=${noise.toFixed(4)},usage_system=${i % 9973}i ${1_700_000_000_000_000_000n + BigInt(i) * 1_000_000_000n}`,
    };
  }
  return out;
}
