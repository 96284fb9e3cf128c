/**
 * Global setup of `npm run test:faults`: clears the summary rows before the run; afterwards
 * prints the table (scenario, planned, received, lost, duplicates, unconfirmed, time) and writes
 * it to test/faults/.last-run.md.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Row } from "./harness.js";

const HERE = new URL(".", import.meta.url).pathname;
const ROWS = join(HERE, ".rows.jsonl");
const LAST = join(HERE, ".last-run.md");

export function table(rows: Row[], totalSeconds: number): string {
  const head = [
    "scenario",
    "planned",
    "received",
    "lost",
    "duplicates",
    "unconfirmed",
    "time",
    "note",
  ];
  const body = rows.map((r) => [
    r.scenario,
    String(r.planned),
    String(r.received),
    String(r.lost),
    String(r.duplicates),
    String(r.unconfirmed),
    `${r.seconds}s`,
    r.note ?? "",
  ]);
  const lines = [head, head.map(() => "---"), ...body].map((r) => `| ${r.join(" | ")} |`);
  return `# convene fault run, ${new Date().toISOString()}\n\n${lines.join("\n")}\n\nTotal: ${totalSeconds}s\n`;
}

export default function setup(): () => void {
  rmSync(ROWS, { force: true });
  const t0 = Date.now();
  return () => {
    const rows = existsSync(ROWS)
      ? readFileSync(ROWS, "utf8")
          .split("\n")
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l) as Row)
      : [];
    const md = table(rows, Math.round((Date.now() - t0) / 1000));
    writeFileSync(LAST, md);
    process.stdout.write(`\n${md}\n`);
  };
}
