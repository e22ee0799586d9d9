// Hardened hosts run Node with --disallow-code-generation-from-strings: rows must convert there too,
// to the same lines (through the interpreted converter instead of the generated one).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "edr-transform-nocodegen-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SCRIPT = `
import { rowsToLines } from ${JSON.stringify(fileURLToPath(new URL("./index.ts", import.meta.url)))};
const columns = [
  { table_name: "cpu", column_name: "host", data_type: "Dictionary(Int32, Utf8)" },
  { table_name: "cpu", column_name: "n", data_type: "Int64" },
  { table_name: "cpu", column_name: "ok", data_type: "Boolean" },
  { table_name: "cpu", column_name: "time", data_type: "Timestamp(Nanosecond, None)" },
  { table_name: "cpu", column_name: "usage", data_type: "Float64" },
];
const rows = [
  { host: "a b", n: 7, ok: true, usage: 1.5, time: "1970-01-01T00:00:00.000000001" },
  { host: "c", usage: "oops", time: "1970-01-01T00:00:00.000000002" },
  { host: null, ok: false, time: "1970-01-01T00:00:00.000000003" },
];
console.log(JSON.stringify(rowsToLines("cpu", rows, columns)));
`;

function convert(flags: string[]): unknown {
  const script = join(dir, "convert.ts");
  writeFileSync(script, SCRIPT);
  const child = spawnSync(process.execPath, [...flags, "--import", "tsx", script], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    encoding: "utf8",
  });
  const error = child.stderr.split("\n").find((line) => /Error/.test(line));
  expect(child.status, `node ${flags.join(" ")}: ${error ?? child.stderr.slice(0, 300)}`).toBe(0);
  return JSON.parse(child.stdout);
}

describe("rows to lines without code generation", () => {
  it("gives the same lines and rejections as with it", () => {
    const hardened = convert(["--disallow-code-generation-from-strings"]);
    expect(hardened).toEqual(convert([]));
    expect(hardened).toMatchObject({ items: ["cpu,host=a\\ b n=7i,ok=true,usage=1.5 1", "cpu ok=false 3"] });
  });
});
