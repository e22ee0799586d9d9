import { execFileSync } from "node:child_process";
import { readFileSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createQueue, type Queue, type QueueEntry } from "../src/index.js";
import { entries, tempDir } from "./helpers.js";

const HEAD = "edr_queue_writes.jsonl.gz";

/** Writes entries the way the Python plugin does: one `gzip.open(path, "at")` session per flush. */
function pythonAppend(file: string, sessions: QueueEntry[][]): void {
  const script = `
import gzip, json, sys
path = sys.argv[1]
for session in json.load(sys.stdin):
    with gzip.open(path, "at") as f:
        for entry in session:
            f.write(json.dumps(entry) + "\\n")
`;
  execFileSync("python3", ["-c", script, file], { input: JSON.stringify(sessions) });
}

function pythonRead(file: string): QueueEntry[] {
  const script = `
import gzip, json, sys
with gzip.open(sys.argv[1], "rt") as f:
    print(json.dumps([json.loads(line) for line in f if line.strip()]))
`;
  return JSON.parse(execFileSync("python3", ["-c", script, file], { encoding: "utf8" })) as QueueEntry[];
}

async function drainAll(q: Queue, maxEntries: number): Promise<QueueEntry[]> {
  const out: QueueEntry[] = [];
  for (;;) {
    const batch = await q.read({ maxEntries });
    if (batch.entries.length === 0) return out;
    out.push(...batch.entries);
    await q.ack(batch);
  }
}

const odd: QueueEntry[] = [
  { table: "météo", line: 'météo,city=Zürich temp=21.5,note="a \\"quoted\\" word" 1700000000000000000' },
  { table: "emoji", line: "emoji,k=🚀 v=1i 1700000000000000001" },
];

describe("interop with the Python plugin's queue file", () => {
  it("reads and drains a multi-member file written by python3 gzip.open(path, 'at'), in order", async () => {
    const dir = tempDir();
    const file = join(dir, HEAD);
    pythonAppend(file, [entries(0, 100), odd, entries(100, 1), entries(101, 399)]);
    const q = await createQueue({ dir });
    expect(q.stats().entries).toBe(502);
    expect(q.stats().oldestAgeMs).toBeGreaterThanOrEqual(0);
    const got = await drainAll(q, 7); // batches that end inside Python's members
    expect(got).toEqual([...entries(0, 100), ...odd, ...entries(100, 400)]);
    await q.close();
  });

  it("keeps Python's unacknowledged entries across a restart and appends after them", async () => {
    const dir = tempDir();
    const file = join(dir, HEAD);
    pythonAppend(file, [entries(0, 50), entries(50, 50)]);
    const q = await createQueue({ dir });
    await q.ack(await q.read({ maxEntries: 30 }));
    await q.append(entries(100, 10));
    await q.close();
    // Python (or zcat) still reads the whole file: its members and ours, FEXTRA and all.
    expect(pythonRead(file)).toEqual(entries(0, 110));
    const again = await createQueue({ dir });
    expect(await drainAll(again, 1000)).toEqual(entries(30, 80));
    await again.close();
  });

  it("quarantines the torn tail of a Python file and keeps its good members", async () => {
    const dir = tempDir();
    const file = join(dir, HEAD);
    pythonAppend(file, [entries(0, 20)]);
    const firstSize = statSync(file).size;
    pythonAppend(file, [entries(20, 20)]);
    truncateSync(file, statSync(file).size - 5);
    const warnings: string[] = [];
    const q = await createQueue({ dir, onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(`at offset ${firstSize} \\((deflate data is invalid or cut short|member trailer missing)`),
    );
    expect(await drainAll(q, 1000)).toEqual(entries(0, 20));
    await q.close();
    expect(readFileSync(join(dir, "edr_queue_writes.quarantine")).length).toBeGreaterThan(0);
  });
});
