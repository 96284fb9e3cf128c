/**
 * The one text-table layout of the CLI (plan, status, rehearse): columns two spaces apart, no
 * borders, no trailing spaces. Not cli-table3: its tables are boxed, and drawn borderless they
 * still pad every cell on both sides, so the plain, diff-friendly layout organizers and
 * scripts already read (and the tests pin) would change.
 */
export interface Column {
  /** Pad to exactly this width; by default, the column's widest cell. */
  width?: number;
  /** Numbers read better right-aligned. */
  align?: "left" | "right";
}

export function textTable(rows: readonly (readonly string[])[], columns: Column[] = []): string[] {
  const count = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from(
    { length: count },
    (_, c) => columns[c]?.width ?? Math.max(...rows.map((r) => (r[c] ?? "").length)),
  );
  return rows.map((r) =>
    r
      .map((v, c) =>
        columns[c]?.align === "right" ? v.padStart(widths[c] ?? 0) : v.padEnd(widths[c] ?? 0),
      )
      .join("  ")
      .trimEnd(),
  );
}
