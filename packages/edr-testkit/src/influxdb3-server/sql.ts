/**
 * A strict recogniser for exactly the SQL shapes edr sends to `/api/v3/query_sql`; anything else is refused
 * with a message, so the test server never answers a query it does not understand with a wrong result.
 */

/** A literal or a `$param` standing for a value. */
export type ValueRef = { literal: string } | { param: string };

/** One side of a time range. */
export interface TimeBound {
  value: ValueRef;
  inclusive: boolean;
}

/** The queries the test server answers. */
export type SqlQuery =
  | {
      kind: "select";
      table: string;
      /** "*" or the listed columns, in order. */
      columns: "*" | string[];
      lower: TimeBound | undefined;
      upper: TimeBound | undefined;
      order: "asc" | "desc" | undefined;
      /** At most this many rows (after ordering). */
      limit: number | undefined;
    }
  | {
      kind: "information-schema-columns";
      columns: string[];
      tableName: ValueRef | undefined;
      orderBy: string[];
    }
  | { kind: "show-tables" };

/** Raised for SQL outside the supported shapes, with a message that says what was expected. */
export class UnsupportedSqlError extends Error {}

/** Columns of `information_schema.columns` the test server can list. */
export const INFORMATION_SCHEMA_COLUMNS = [
  "table_catalog",
  "table_schema",
  "table_name",
  "column_name",
  "data_type",
  "is_nullable",
] as const;

type Token =
  | { t: "ident"; v: string; quoted: boolean; at: number }
  | { t: "string"; v: string; at: number }
  | { t: "param"; v: string; at: number }
  | { t: "number"; v: string; at: number }
  | { t: "punct"; v: string; at: number };

const PUNCT = ["<=", ">=", "<>", "!=", ",", "*", "(", ")", "=", "<", ">", ".", ";", "+", "-", "/", "%"];

/** Splits SQL into tokens; unquoted identifiers are lower-cased, as DataFusion does. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i))![0];
      tokens.push({ t: "ident", v: m.toLowerCase(), quoted: false, at: i });
      i += m.length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(?:\.[0-9]+)?/.exec(sql.slice(i))![0];
      tokens.push({ t: "number", v: m, at: i });
      i += m.length;
    } else if (c === '"' || c === "'") {
      const start = i;
      let out = "";
      i++;
      for (;;) {
        if (i >= sql.length)
          throw new UnsupportedSqlError(`unterminated ${c === '"' ? "identifier" : "string"} at ${start}`);
        if (sql[i] === c) {
          if (sql[i + 1] === c) {
            out += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        out += sql[i];
        i++;
      }
      tokens.push(
        c === '"' ? { t: "ident", v: out, quoted: true, at: start } : { t: "string", v: out, at: start },
      );
    } else if (c === "$") {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(i));
      if (m === null) throw new UnsupportedSqlError(`expected a parameter name after "$" at ${i}`);
      tokens.push({ t: "param", v: m[1]!, at: i });
      i += m[0].length;
    } else {
      const p = PUNCT.find((x) => sql.startsWith(x, i));
      if (p === undefined) throw new UnsupportedSqlError(`unexpected character ${JSON.stringify(c)} at ${i}`);
      tokens.push({ t: "punct", v: p, at: i });
      i += p.length;
    }
  }
  return tokens;
}

/** Recognises one query of the supported shapes or throws `UnsupportedSqlError`. */
export function parseSql(sql: string): SqlQuery {
  return new Parser(tokenize(sql)).query();
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  query(): SqlQuery {
    let q: SqlQuery;
    if (this.keyword("show")) {
      this.expectKeyword("tables");
      q = { kind: "show-tables" };
    } else {
      this.expectKeyword("select");
      const columns = this.selectList();
      this.expectKeyword("from");
      const first = this.identifier("a table name");
      if (this.punct(".")) {
        const second = this.identifier("a table name");
        if (first === "information_schema" && second === "columns") q = this.columnsQuery(columns);
        else if (first === "iox") q = this.selectQuery(second, columns);
        else
          throw new UnsupportedSqlError(
            `the test server reads only iox.<table> and information_schema.columns, not ${first}.${second}`,
          );
      } else {
        q = this.selectQuery(first, columns);
      }
    }
    this.punct(";");
    const rest = this.tokens[this.i];
    if (rest !== undefined)
      throw new UnsupportedSqlError(
        `unexpected ${describe(rest)} at ${rest.at}: the test server supports ${SHAPES}`,
      );
    return q;
  }

  private selectList(): "*" | string[] {
    if (this.punct("*")) return "*";
    const columns = [this.identifier("a column name or *")];
    while (this.punct(",")) columns.push(this.identifier("a column name"));
    return columns;
  }

  private selectQuery(table: string, columns: "*" | string[]): SqlQuery {
    let lower: TimeBound | undefined;
    let upper: TimeBound | undefined;
    if (this.keyword("where")) {
      do {
        const column = this.identifier("time");
        if (column !== "time")
          throw new UnsupportedSqlError(`the test server filters only on time, not on "${column}"`);
        const op = this.next();
        if (op?.t !== "punct" || ![">=", ">", "<", "<="].includes(op.v)) {
          throw new UnsupportedSqlError(`expected >=, >, < or <= after time, got ${describe(op)}`);
        }
        const bound = { value: this.timeValue(), inclusive: op.v.endsWith("=") };
        if (op.v.startsWith(">")) {
          if (lower !== undefined) throw new UnsupportedSqlError("more than one lower bound on time");
          lower = bound;
        } else {
          if (upper !== undefined) throw new UnsupportedSqlError("more than one upper bound on time");
          upper = bound;
        }
      } while (this.keyword("and"));
    }
    let order: "asc" | "desc" | undefined;
    if (this.keyword("order")) {
      this.expectKeyword("by");
      const column = this.identifier("time");
      if (column !== "time")
        throw new UnsupportedSqlError(`the test server orders only by time, not by "${column}"`);
      if (this.keyword("desc")) order = "desc";
      else {
        this.keyword("asc");
        order = "asc";
      }
    }
    let limit: number | undefined;
    if (this.keyword("limit")) {
      const token = this.next();
      if (token?.t !== "number" || !/^\d+$/.test(token.v)) {
        throw new UnsupportedSqlError(`expected a whole number after LIMIT, got ${describe(token)}`);
      }
      limit = Number(token.v);
    }
    return { kind: "select", table, columns, lower, upper, order, limit };
  }

  private timeValue(): ValueRef {
    if (this.keyword("timestamp")) return { literal: this.stringLiteral() };
    const token = this.tokens[this.i];
    if (token?.t === "param") {
      this.i++;
      return { param: token.v };
    }
    return { literal: this.stringLiteral() };
  }

  private columnsQuery(columns: "*" | string[]): SqlQuery {
    if (columns === "*")
      throw new UnsupportedSqlError("list the columns of information_schema.columns instead of *");
    for (const c of columns) checkInfoColumn(c);
    let schemaSeen = false;
    let tableName: ValueRef | undefined;
    if (this.keyword("where")) {
      do {
        const column = this.identifier("table_schema or table_name");
        this.expectPunct("=");
        const token = this.next();
        const value: ValueRef | undefined =
          token?.t === "string"
            ? { literal: token.v }
            : token?.t === "param"
              ? { param: token.v }
              : undefined;
        if (value === undefined)
          throw new UnsupportedSqlError(
            `expected a string or $param after ${column} =, got ${describe(token)}`,
          );
        if (column === "table_schema") {
          if (!("literal" in value) || value.literal !== "iox") {
            throw new UnsupportedSqlError("the test server lists columns only with table_schema = 'iox'");
          }
          schemaSeen = true;
        } else if (column === "table_name" && tableName === undefined) {
          tableName = value;
        } else {
          throw new UnsupportedSqlError(
            `the test server filters information_schema.columns only on table_schema and table_name, once each, not on "${column}"`,
          );
        }
      } while (this.keyword("and"));
    }
    if (!schemaSeen)
      throw new UnsupportedSqlError("add WHERE table_schema = 'iox': the test server lists only user tables");
    const orderBy: string[] = [];
    if (this.keyword("order")) {
      this.expectKeyword("by");
      do {
        const column = this.identifier("a column name");
        checkInfoColumn(column);
        if (this.keyword("desc"))
          throw new UnsupportedSqlError("the test server orders information_schema.columns only ascending");
        this.keyword("asc");
        orderBy.push(column);
      } while (this.punct(","));
    }
    return { kind: "information-schema-columns", columns, tableName, orderBy };
  }

  private next(): Token | undefined {
    return this.tokens[this.i++];
  }

  private keyword(word: string): boolean {
    const token = this.tokens[this.i];
    if (token?.t === "ident" && !token.quoted && token.v === word) {
      this.i++;
      return true;
    }
    return false;
  }

  private expectKeyword(word: string): void {
    if (!this.keyword(word)) {
      throw new UnsupportedSqlError(
        `expected ${word.toUpperCase()}, got ${describe(this.tokens[this.i])}: the test server supports ${SHAPES}`,
      );
    }
  }

  private punct(p: string): boolean {
    const token = this.tokens[this.i];
    if (token?.t === "punct" && token.v === p) {
      this.i++;
      return true;
    }
    return false;
  }

  private expectPunct(p: string): void {
    if (!this.punct(p))
      throw new UnsupportedSqlError(`expected "${p}", got ${describe(this.tokens[this.i])}`);
  }

  private identifier(what: string): string {
    const token = this.tokens[this.i];
    if (token?.t !== "ident" || (!token.quoted && RESERVED.has(token.v))) {
      throw new UnsupportedSqlError(`expected ${what}, got ${describe(token)}`);
    }
    this.i++;
    return token.v;
  }

  private stringLiteral(): string {
    const token = this.next();
    if (token?.t !== "string")
      throw new UnsupportedSqlError(`expected an RFC 3339 string or a $param, got ${describe(token)}`);
    return token.v;
  }
}

const SHAPES =
  "SELECT * | <columns> FROM <table> [WHERE time >= <t> AND time < <t>] [ORDER BY time] [LIMIT n], " +
  "SELECT <columns> FROM information_schema.columns WHERE table_schema = 'iox' [AND table_name = <name>], and SHOW TABLES";
const RESERVED = new Set([
  "select",
  "from",
  "where",
  "and",
  "or",
  "order",
  "by",
  "group",
  "limit",
  "show",
  "as",
  "not",
]);

function checkInfoColumn(column: string): void {
  if (!(INFORMATION_SCHEMA_COLUMNS as readonly string[]).includes(column)) {
    throw new UnsupportedSqlError(
      `the test server lists only ${INFORMATION_SCHEMA_COLUMNS.join(", ")} of information_schema.columns, not "${column}"`,
    );
  }
}

function describe(token: Token | undefined): string {
  if (token === undefined) return "the end of the query";
  if (token.t === "string") return `'${token.v}'`;
  if (token.t === "param") return `$${token.v}`;
  if (token.t === "ident" && token.quoted) return `"${token.v}"`;
  if (token.t === "ident" && RESERVED.has(token.v)) return token.v.toUpperCase();
  return token.v;
}
