/**
 * The organizer's report of a rehearsal: the outbox's index.html, rewritten once the run is
 * over from the plan and the ledger, not only from the messages written. Why: an organizer
 * checking a campaign needs to see what did *not* go out (a reminder skipped because the team
 * registered, a suppressed address, a send past its window) next to what did, step by step, in
 * the event's own time zone. Each planned send is one row. `report.json` holds the same rows
 * for scripts; `index.json` stays the outbox's list of written messages.
 */
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hb } from "../render/handlebars.js";
import { localTime, PAGE_STYLE } from "./outbox.js";

export interface ReportRow {
  /** The send id. */
  id: string;
  step: string;
  kind: string;
  recipient: string;
  name?: string;
  /** ISO instant the send was due, and how the organizer reads it in the event's zone. */
  due?: string;
  dueLocal?: string;
  state: string;
  /** Why it was not sent (skipped, suppressed, missed, failed, unconfirmed). */
  reason?: string;
  /** The message's files in the outbox, for sends that were written. */
  subject?: string;
  html?: string;
  eml?: string;
  text?: string;
  ics?: string;
}

export interface ReportGroup {
  step: string;
  kind: string;
  /** "due Mon May 15 2017, 9:00 AM PDT", or the first and last due time of a step that has several. */
  dueText: string;
  counts: Record<string, number>;
  rows: ReportRow[];
}

export interface OutboxReport {
  event: string;
  title: string;
  zone: string;
  groups: ReportGroup[];
}

/** "104 sent · 3 skipped": the states a step's sends are in, in the order given. */
function countsText(counts: Record<string, number>): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(" · ");
}

export function dueText(dues: readonly string[], zone: string): string {
  const sorted = [...new Set(dues)].sort();
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (!first || !last) return "no due time";
  if (first === last) return `due ${localTime(first, zone)}`;
  return `due ${localTime(first, zone)} to ${localTime(last, zone)} (${sorted.length} times)`;
}

const REPORT_HTML = hb.compile(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}: rehearsal</title><style>{{{style}}}</style></head>
<body><h1>{{title}}</h1>
<p class="meta">Rehearsal of {{event}}: {{total}} planned sends in {{groups.length}} steps ({{totals}}). Times in {{zone}}.</p>
{{#each groups}}<section id="step-{{step}}"><h2>{{step}}</h2>
<p class="meta">{{kind}} · {{dueText}} · {{countsLine}}</p>
<ul>
{{#each rows}}<li data-send="{{id}}" data-state="{{state}}"><div class="subject">{{#if html}}<a href="{{html}}">{{subject}}</a>{{else}}{{#if subject}}{{subject}}{{else}}Not sent{{/if}}{{/if}}</div>
<div class="meta"><span class="state state-{{state}}">{{state}}</span> to {{#if name}}{{name}} &lt;{{recipient}}&gt;{{else}}{{recipient}}{{/if}}{{#if dueLocal}} · {{dueLocal}}{{/if}}</div>
{{#if reason}}<div class="reason">{{reason}}</div>{{/if}}
{{#if eml}}<div class="meta files"><a href="{{eml}}">.eml</a>{{#if text}}<a href="{{text}}">.txt</a>{{/if}}{{#if ics}}<a href="{{ics}}">.ics</a>{{/if}}</div>{{/if}}</li>
{{/each}}</ul></section>
{{/each}}</body></html>
`);

function writeAtomic(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}-${process.pid}`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, name));
}

export function reportHtml(r: OutboxReport): string {
  const totals: Record<string, number> = {};
  for (const g of r.groups)
    for (const [s, n] of Object.entries(g.counts)) totals[s] = (totals[s] ?? 0) + n;
  return REPORT_HTML({
    ...r,
    style: PAGE_STYLE,
    total: r.groups.reduce((n, g) => n + g.rows.length, 0),
    totals: countsText(totals) || "none",
    groups: r.groups.map((g) => ({ ...g, countsLine: countsText(g.counts) || "no sends" })),
  });
}

/** Writes index.html (replacing the live message list) and report.json into the outbox. */
export function writeReport(dir: string, r: OutboxReport): void {
  writeAtomic(dir, "report.json", `${JSON.stringify(r, null, 2)}\n`);
  writeAtomic(dir, "index.html", reportHtml(r));
}
