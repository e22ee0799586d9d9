/** `0 B`, `4.2 KiB`, `1.0 GiB`: sizes as a person reads them. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `850ms`, `12s`, `4m 10s`, `3h 2m`, `2d 5h`: an age at a glance. */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** `1,234,567`. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** Rows of label and text, the labels padded to one column. */
export function formatRows(rows: readonly (readonly [string, string])[], indent = "  "): string {
  const width = Math.max(0, ...rows.map(([label]) => label.length)) + 2;
  return rows.map(([label, text]) => `${indent}${label.padEnd(width)}${text}`).join("\n");
}

/** `cpu 60, mem 30`, the largest first, at most `limit` then `… and N more`. */
export function formatCounts(counts: Readonly<Record<string, number>>, limit = 8): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return "none";
  const shown = entries.slice(0, limit).map(([key, n]) => `${key} ${formatCount(n)}`);
  if (entries.length > limit) shown.push(`… and ${entries.length - limit} more`);
  return shown.join(", ");
}
