// What the scenarios share once a store is read: the model's versions in the shape compare.ts takes, one
// assertion per way a store can be wrong, and creating a database on an edr-testkit server.
import type { InfluxDB3TestServer } from "edr-testkit";
import { expect } from "vitest";
import { firstFew, type SlotReport, type Versions } from "./compare.js";
import { fieldsText, type WrittenModel } from "./load.js";

/** The values written for each series and time, oldest first, from the writers' model. */
export function modelVersions(model: WrittenModel): Versions {
  const out: Versions = new Map();
  for (const [slot, { point, versions }] of model.slots)
    out.set(slot, { point, texts: versions.map(fieldsText) });
  return out;
}

/** One assertion per way a store can be wrong, so a failure says which guarantee broke. */
export function expectStore(report: SlotReport, where: string): void {
  expect(report.twice, `${where}: series and times held twice: ${firstFew(report.twice)}`).toEqual([]);
  expect(report.missing, `${where}: missing: ${firstFew(report.missing)}`).toEqual([]);
  expect(report.unexpected, `${where}: never written: ${firstFew(report.unexpected)}`).toEqual([]);
  expect(
    report.neverWritten,
    `${where}: a value never written to that series and time: ${firstFew(report.neverWritten)}`,
  ).toEqual([]);
  expect(
    report.stale,
    `${where}: an older value than the last written (order per series broken): ${firstFew(report.stale)}`,
  ).toEqual([]);
}

/** Creates `db` on an edr-testkit server (`POST /api/v3/configure/database`). */
export async function createDatabase(server: InfluxDB3TestServer, token: string, db: string): Promise<void> {
  const res = await fetch(`${server.url}/api/v3/configure/database`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ db }),
  });
  expect(res.status).toBe(200);
}
