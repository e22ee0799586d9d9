// Table, tag and field names are user data: every name that enters a query is quoted, so a name with a
// quote, a dot, a space, upper case or SQL/InfluxQL syntax in it names exactly that table and nothing else.

/**
 * A SQL (DataFusion) identifier: double quotes, an inner `"` doubled. Quoted, case and every other
 * character are kept (unquoted names are lower-cased) and a dot stays part of the name.
 */
export function quoteSqlIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * An InfluxQL identifier: double quotes with `\\`, `\"` and `\n` escapes, the ones both InfluxDB 1.x's
 * scanner and InfluxDB 3's InfluxQL parser read (a raw newline ends the token in both).
 */
export function quoteInfluxQLIdentifier(name: string): string {
  return `"${name.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`;
}
