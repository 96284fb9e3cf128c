/**
 * Line-level handling of iCalendar text (RFC 5545 §3.1). ical-generator folds its output, but
 * convene edits a few lines after generation (see build.ts), so the text is unfolded, edited
 * line by line and folded again here. Folding counts UTF-8 octets and never splits a code
 * point, so non-ASCII titles survive: every physical line is at most 75 octets plus CRLF.
 */

const MAX_OCTETS = 75;

export function unfold(ics: string): string[] {
  return ics
    .replace(/\r?\n[ \t]/g, "")
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
}

function octets(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** One content line folded into physical lines of at most 75 octets (continuations start with a space). */
export function foldLine(line: string): string {
  if (octets(line) <= MAX_OCTETS) return line;
  const out: string[] = [];
  let current = "";
  let size = 0;
  for (const ch of line) {
    const n = octets(ch);
    // A continuation line's leading space counts toward its 75 octets.
    const limit = out.length === 0 ? MAX_OCTETS : MAX_OCTETS - 1;
    if (size + n > limit) {
      out.push(current);
      current = "";
      size = 0;
    }
    current += ch;
    size += n;
  }
  out.push(current);
  return out.join("\r\n ");
}

/** Content lines to iCalendar text: folded, CRLF-terminated (including the last line). */
export function fold(lines: readonly string[]): string {
  return `${lines.map(foldLine).join("\r\n")}\r\n`;
}

/** The property name of a content line (`DTSTART;TZID=…:…` → `DTSTART`). */
export function propName(line: string): string {
  const m = /^[A-Za-z0-9-]+/.exec(line);
  return m ? m[0].toUpperCase() : "";
}
