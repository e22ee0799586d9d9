import type { ArgumentSpec } from "../src/arguments.js";

/** The README's table of arguments, generated from the specs so that the two cannot drift apart. */
export function formatArgumentsTable(specs: readonly ArgumentSpec[]): string {
  const rows = specs.map((spec) => {
    const modes = spec.modes.length === 2 ? "both" : spec.modes.join(", ");
    const cell = (text: string) => text.replaceAll("|", "\\|");
    return `| \`${spec.name}\` | ${cell(spec.description)} | ${cell(spec.constraint)} | ${spec.default === undefined ? "" : cell(spec.default)} | ${modes} |`;
  });
  return [
    "| Argument | Description | Constraints | Default | Mode |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
