import { parse } from "csv-parse/sync";
import { DateTime } from "luxon";
import type { Problem } from "./problems.js";
import { emailProblem, headerValueProblem, MAX_LINE_LENGTH } from "./schema.js";
import { isValidZone, LOCAL_DATETIME_RE, localToInstant } from "./time.js";
import type { Recipient, Registration } from "./types.js";

const KNOWN = ["email", "name", "team", "role", "timezone", "organization", "title", "salutation"];

/**
 * Other columns reach templates (and `where`), where a template may put them in a subject, so
 * they get the header checks too, with room for a longer note.
 */
const MAX_EXTRA_FIELD_LENGTH = 1000;

/** Why a CSV value cannot be used, or undefined; email has its own, more specific check. */
function fieldProblem(col: string, value: string): string | undefined {
  if (col === "email") return undefined;
  return headerValueProblem(value, KNOWN.includes(col) ? MAX_LINE_LENGTH : MAX_EXTRA_FIELD_LENGTH);
}

/** A value as it is shown in a message: quoted, with control characters made visible. */
function shown(value: string): string {
  return JSON.stringify(value);
}

interface Row {
  values: Record<string, string>;
  line: number;
  raw: string;
}

/**
 * Character column of a field in a raw CSV line, for error messages. csv-parse reports lines
 * but not field offsets, so this walks the raw record honouring quotes.
 */
function fieldColumn(raw: string, index: number): number {
  let field = 0;
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    if (field === index) return i + 1;
    const c = raw[i];
    if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) field++;
  }
  return 1;
}

/**
 * One copy of each repeated value: a column such as organization, title or team repeats a few
 * values over thousands of rows, and csv-parse makes a new string for every cell, which a
 * 100,000-row file kept for as long as its definition (issue 12). A column whose values are
 * mostly distinct (email, name) stops being interned once that shows, so the lookup tables
 * never grow with it.
 */
class Interner {
  private readonly columns = new Map<string, Map<string, string> | null>();
  private rows = 0;

  row(values: Record<string, string>): Record<string, string> {
    this.rows++;
    for (const [k, v] of Object.entries(values)) {
      const seen = this.column(k);
      if (!seen) continue;
      const kept = seen.get(v);
      if (kept !== undefined) values[k] = kept;
      else if (seen.size < INTERN_PROBE || seen.size * 2 < this.rows) seen.set(v, v);
      else this.columns.set(k, null);
    }
    return values;
  }

  private column(k: string): Map<string, string> | null {
    let seen = this.columns.get(k);
    if (seen === undefined) {
      seen = new Map();
      this.columns.set(k, seen);
    }
    return seen;
  }
}

/** Distinct values a column may have before more than half distinct stops its interning. */
const INTERN_PROBE = 256;

function readRows(
  file: string,
  text: string,
  problems: Problem[],
): { header: string[]; rows: Row[] } {
  const interner = new Interner();
  try {
    // on_record turns each record into a Row as it is parsed: with `info`, csv-parse gives every
    // record an object of a dozen counters, and holding 100,000 of them until the end was most
    // of the start-up check's peak memory (issue 12).
    const rows = parse(text, {
      bom: true,
      columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
      skip_empty_lines: true,
      trim: true,
      info: true,
      raw: true,
      on_record: (r: { record: Record<string, string>; info: { lines: number }; raw: string }) => ({
        values: interner.row(r.record),
        // info.lines is where a record ends; a quoted value with line breaks starts it earlier.
        line: r.info.lines - (r.raw.replace(/\r?\n$/, "").match(/\n/g)?.length ?? 0),
        raw: r.raw,
      }),
    }) as unknown as Row[];
    const header = rows[0] ? Object.keys(rows[0].values) : parseHeader(text);
    return { header, rows };
  } catch (e) {
    const err = e as { message: string; lines?: number };
    problems.push({
      file,
      line: err.lines ?? 1,
      col: 1,
      message: err.message.replace(/^[A-Za-z_]+: /, ""),
    });
    // The header line is usually fine: without it every column would also be reported missing.
    return { header: parseHeader(text), rows: [] };
  }
}

function parseHeader(text: string): string[] {
  const first = text.replace(/^\uFEFF/, "").split(/\r?\n/)[0] ?? "";
  return first
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter(Boolean);
}

function requireColumns(
  file: string,
  header: string[],
  cols: string[],
  problems: Problem[],
): boolean {
  const missing = cols.filter((c) => !header.includes(c));
  for (const c of missing)
    problems.push({ file, line: 1, col: 1, message: `missing column "${c}"` });
  return missing.length === 0;
}

export function parseRecipients(file: string, text: string, problems: Problem[]): Recipient[] {
  const { header, rows } = readRows(file, text, problems);
  if (!requireColumns(file, header, ["email", "name"], problems)) return [];
  const seen = new Map<string, number>();
  const out: Recipient[] = [];
  for (const row of rows) {
    const found = recipientProblems(row, header, seen);
    for (const [col, message] of found)
      problems.push({
        file,
        line: row.line,
        col: fieldColumn(row.raw, header.indexOf(col)),
        message: `${col}: ${message}`,
      });
    if (found.length === 0) out.push(toRecipient(file, row));
  }
  return out;
}

/** A problem with one column of a row: the column and what is wrong with its value. */
type ColumnProblem = [col: string, message: string];

/**
 * Every problem of a row is reported, not just the first, so one run of `validate` lists all
 * there is to fix. `seen` remembers each address (even on a bad row) to catch the second copy.
 */
function recipientProblems(row: Row, header: string[], seen: Map<string, number>): ColumnProblem[] {
  const v = row.values;
  const found: ColumnProblem[] = [];
  for (const col of header) {
    const problem = fieldProblem(col, v[col] ?? "");
    if (problem) found.push([col, problem]);
  }
  const email = (v.email ?? "").trim();
  const bad = emailProblem(email);
  if (bad) found.push(["email", `${shown(email)} ${bad}`]);
  if (!v.name) found.push(["name", "is empty"]);
  if (v.timezone && !isValidZone(v.timezone))
    found.push(["timezone", `"${v.timezone}" is not an IANA time zone`]);
  const key = email.toLowerCase();
  const dup = seen.get(key);
  if (dup !== undefined)
    found.push([
      "email",
      `${email} is listed twice (first on line ${dup}); each person is mailed once`,
    ]);
  seen.set(key, row.line);
  return found;
}

/**
 * The `fields` of every row of a file without other columns: one object, not one per row (56
 * bytes each, 5.6 MB at 100,000 rows). Frozen, so a mistaken write throws instead of reaching
 * every recipient.
 */
const NO_FIELDS: Record<string, string> = Object.freeze({});

function otherFields(v: Record<string, string>): Record<string, string> {
  let fields: Record<string, string> | undefined;
  for (const [k, val] of Object.entries(v))
    if (!KNOWN.includes(k)) {
      fields ??= {};
      fields[k] = val;
    }
  return fields ?? NO_FIELDS;
}

function toRecipient(file: string, row: Row): Recipient {
  const v = row.values;
  const r: Recipient = {
    email: (v.email ?? "").trim(),
    name: v.name as string,
    fields: otherFields(v),
    source: { file, line: row.line },
  };
  for (const k of ["team", "role", "timezone", "organization", "title", "salutation"] as const)
    if (v[k]) r[k] = v[k];
  return r;
}

/**
 * Registrations: `team,registered_at`. A time with an offset or `Z` is taken as written; a bare
 * local time (`2017-05-18 14:32`) is in the event's zone.
 */
export function parseRegistrations(
  file: string,
  text: string,
  zone: string,
  problems: Problem[],
): Registration[] {
  const { header, rows } = readRows(file, text, problems);
  if (!requireColumns(file, header, ["team", "registered_at"], problems)) return [];
  const out: Registration[] = [];
  for (const row of rows) {
    const team = row.values.team ?? "";
    const when = row.values.registered_at ?? "";
    const col = fieldColumn(row.raw, header.indexOf("registered_at"));
    let instant: DateTime | undefined;
    const local = LOCAL_DATETIME_RE.exec(when);
    if (local) instant = localToInstant(local[1] as string, `${local[2]}:${local[3]}`, zone);
    else if (/T.*(Z|[+-]\d{2}:?\d{2})$/.test(when))
      instant = DateTime.fromISO(when, { setZone: true });
    if (!team) {
      problems.push({ file, line: row.line, col: 1, message: "team: is empty" });
      continue;
    }
    // The team id is echoed in messages and reports, so it gets the same checks as a name.
    const badTeam = fieldProblem("team", team);
    if (badTeam) {
      problems.push({ file, line: row.line, col: 1, message: `team: ${badTeam}` });
      continue;
    }
    if (!instant?.isValid) {
      problems.push({
        file,
        line: row.line,
        col,
        message: `registered_at: "${when}" is not a time like 2017-05-18 14:32 or 2017-05-18T21:32:00Z`,
      });
      continue;
    }
    out.push({
      team,
      registeredAt: instant.toUTC().toISO() as string,
      source: { file, line: row.line },
    });
  }
  return out;
}
