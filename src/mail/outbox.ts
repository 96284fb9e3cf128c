/**
 * The outbox: where mail goes when no SMTP server is configured. Each message becomes
 * `<name>.eml` (the exact bytes SMTP would carry), `<name>.html` (its HTML body, to open in a
 * browser), `<name>.ics` for invites, and `<name>.json` (what the index lists). `index.json` and
 * `index.html` are rebuilt from those `.json` files, so they are correct however many messages
 * and processes write to the folder: each rebuild sees every message finished before it began,
 * and writes through a temporary file and a rename, so a reader never sees half an index.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DateTime } from "luxon";
import type Mail from "nodemailer/lib/mailer/index.js";
import { hb } from "../render/handlebars.js";
import { toEml } from "./eml.js";

export interface OutboxEntry {
  /** The file name stem shared by the .eml/.html/.ics/.json of this message. */
  name: string;
  messageId: string;
  /** ISO instant of the Date header. */
  when: string;
  kind: string;
  step: string;
  to: string;
  subject: string;
  eml: string;
  html?: string;
  ics?: string;
  text?: string;
}

/** A file name from the Message-ID's local part (the send id): safe on every filesystem. */
export function outboxName(messageId: string): string {
  const local = messageId.replace(/^<|>$/g, "").split("@")[0] ?? "message";
  return local.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 180) || "message";
}

/** Address fields may nest lists; flattened to `Name <address>` strings. */
export function addressList(a: unknown): { name?: string; address: string }[] {
  if (!a) return [];
  if (Array.isArray(a)) return a.flatMap(addressList);
  if (typeof a === "string") return [{ address: a }];
  const o = a as { name?: string; address?: string };
  return o.address ? [{ ...(o.name ? { name: o.name } : {}), address: o.address }] : [];
}

function addressText(a: unknown): string {
  return addressList(a)
    .map((x) => (x.name ? `${x.name} <${x.address}>` : x.address))
    .join(", ");
}

function headerValue(msg: Mail.Options, name: string): string {
  const h = msg.headers;
  if (!h || Array.isArray(h)) return "";
  const v = (h as Record<string, unknown>)[name];
  return typeof v === "string" ? v : "";
}

function stringOf(c: unknown): string | undefined {
  if (typeof c === "string") return c;
  if (Buffer.isBuffer(c)) return c.toString("utf8");
  return undefined;
}

/** The calendar an invite carries, from nodemailer's icalEvent or an attached .ics. */
export function icsOf(msg: Mail.Options): string | undefined {
  const ev = msg.icalEvent;
  const fromEvent =
    ev && typeof ev === "object" ? stringOf((ev as { content?: unknown }).content) : undefined;
  return (
    fromEvent ||
    firstContent(
      msg.attachments,
      (a) => Boolean(a.filename) && String(a.filename).endsWith(".ics"),
    ) ||
    firstContent(msg.alternatives, (a) => String(a.contentType ?? "").startsWith("text/calendar"))
  );
}

/** The first non-empty text content among the parts that match. */
function firstContent<P extends { content?: unknown }>(
  parts: readonly P[] | undefined,
  matches: (part: P) => boolean,
): string | undefined {
  for (const p of parts ?? []) {
    const s = matches(p) ? stringOf(p.content) : undefined;
    if (s) return s;
  }
  return undefined;
}

/**
 * How every outbox page looks: a list rather than a table, so on a 375 px phone each message
 * is a block whose first line, the subject, is the link; on a wide screen the same list reads
 * as rows.
 */
export const PAGE_STYLE = `body{font-family:system-ui,sans-serif;margin:0 auto;padding:1rem;max-width:64rem;line-height:1.4}
h1{font-size:1.4rem;margin:0 0 .5rem}h2{font-size:1.1rem;margin:1.5rem 0 .2rem}
ul{list-style:none;margin:.5rem 0;padding:0}li{border-bottom:1px solid #ddd;padding:.5rem 0}
.subject{font-weight:600;overflow-wrap:anywhere}.meta{color:#444;font-size:.9rem;overflow-wrap:anywhere}
.reason{color:#7a1f1f;font-size:.9rem}.files a{margin-right:.6em}
.state{display:inline-block;padding:0 .4em;border-radius:.3em;background:#eee;font-size:.8rem}
.state-sent{background:#dff2df}.state-failed,.state-missed,.state-unconfirmed{background:#fbdcdc}
.state-skipped,.state-suppressed{background:#fff0c2}`;

const INDEX_HTML = hb.compile(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>convene outbox ({{entries.length}} messages)</title><style>{{{style}}}</style></head>
<body><h1>convene outbox</h1><p class="meta">{{entries.length}} messages, oldest first; times in UTC.</p>
<ul>
{{#each entries}}<li><div class="subject">{{#if html}}<a href="{{html}}">{{subject}}</a>{{else}}{{subject}}{{/if}}</div>
<div class="meta">{{kind}} · {{step}} · to {{to}} · {{when}}</div>
<div class="meta files"><a href="{{eml}}">.eml</a>{{#if text}}<a href="{{text}}">.txt</a>{{/if}}{{#if ics}}<a href="{{ics}}">.ics</a>{{/if}}</div></li>
{{/each}}</ul></body></html>
`);

/** "Mon May 15 2017, 9:00 AM PDT": how an organizer reads a time, in the event's zone. */
export function localTime(iso: string, zone: string): string {
  return DateTime.fromISO(iso, { zone }).setLocale("en-US").toFormat("ccc LLL d yyyy, h:mm a ZZZZ");
}

const MESSAGE_HEADER =
  hb.compile(`<div style="font-family:system-ui,sans-serif;font-size:14px;line-height:1.4;background:#f4f4f4;border-bottom:1px solid #ccc;padding:12px 16px;margin:0 0 16px;color:#222">
<p style="margin:0 0 8px"><a href="index.html">&larr; All messages (index.html)</a></p>
<div><b>From:</b> {{from}}</div><div><b>To:</b> {{to}}</div><div><b>Date:</b> {{date}}</div>
<div><b>Subject:</b> {{subject}}</div>
<div><b>Attachments:</b> {{#each attachments}}<a href="{{href}}">{{name}}</a>{{#unless @last}}, {{/unless}}{{else}}none{{/each}}</div>
</div>`);

/** What the message carries besides its bodies: each file, linked when the outbox has a copy. */
function attachmentsOf(msg: Mail.Options, entry: OutboxEntry): { name: string; href: string }[] {
  const out = (msg.attachments ?? []).map((a) => ({
    name: String(a.filename ?? "attachment"),
    href: entry.ics && String(a.filename ?? "").endsWith(".ics") ? entry.ics : entry.eml,
  }));
  if (entry.ics && !out.some((a) => a.name.endsWith(".ics")))
    out.push({ name: "invite.ics", href: entry.ics });
  return out;
}

/**
 * The HTML body as a page of the outbox: the message's headers on top (what a mail client
 * would show) and a way back to the index. The body itself is left as composed.
 */
function messagePage(html: string, msg: Mail.Options, entry: OutboxEntry, zone: string): string {
  const header = MESSAGE_HEADER({
    from: addressText(msg.from),
    to: entry.to,
    date: localTime(entry.when, zone),
    subject: entry.subject,
    attachments: attachmentsOf(msg, entry),
  });
  const body = /<body[^>]*>/i.exec(html);
  if (!body) return header + html;
  const at = body.index + body[0].length;
  return html.slice(0, at) + header + html.slice(at);
}

export class Outbox {
  private queued: Promise<void> | undefined;
  private running: Promise<void> = Promise.resolve();

  /** `zone`: the time zone the message pages show their Date in (the event's, when known). */
  constructor(
    readonly dir: string,
    private readonly zone = "UTC",
  ) {}

  /** Writes the message's files and refreshes the index; resolves once the index lists it. */
  async write(msg: Mail.Options): Promise<{ entry: OutboxEntry; raw: Buffer }> {
    mkdirSync(this.dir, { recursive: true });
    const info = await toEml(msg);
    const messageId = info.messageId;
    const name = outboxName(messageId);
    const date = msg.date instanceof Date ? msg.date : new Date(msg.date ?? Date.now());
    const entry: OutboxEntry = {
      name,
      messageId,
      when: date.toISOString(),
      kind: headerValue(msg, "X-Convene-Kind"),
      step: headerValue(msg, "X-Convene-Step"),
      to: addressText(msg.to),
      subject: String(msg.subject ?? ""),
      eml: `${name}.eml`,
    };
    const html = stringOf(msg.html);
    const text = stringOf(msg.text);
    const ics = icsOf(msg);
    writeFileSync(join(this.dir, entry.eml), info.raw);
    const extra = { html, text, ics };
    for (const ext of ["html", "text", "ics"] as const)
      if (extra[ext]) entry[ext] = `${name}.${ext === "text" ? "txt" : ext}`;
    for (const ext of ["html", "text", "ics"] as const) {
      const file = entry[ext];
      const content = extra[ext];
      if (!file || !content) continue;
      writeFileSync(
        join(this.dir, file),
        ext === "html" ? messagePage(content, msg, entry, this.zone) : content,
      );
    }
    writeFileSync(join(this.dir, `${name}.json`), `${JSON.stringify(entry, null, 2)}\n`);
    await this.refreshIndex();
    return { entry, raw: info.raw };
  }

  /**
   * Coalesces rebuilds: while one runs, later writers share a single follow-up rebuild, which
   * starts after their files exist. A burst of N messages costs about two rebuilds, not N.
   */
  refreshIndex(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        this.rebuild();
      });
    this.queued = next;
    this.running = next;
    return next;
  }

  /** Reads every message's .json and writes index.json and index.html. */
  rebuild(): OutboxEntry[] {
    const entries: OutboxEntry[] = [];
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith(".json") || f === "index.json" || f.startsWith(".")) continue;
      try {
        entries.push(JSON.parse(readFileSync(join(this.dir, f), "utf8")) as OutboxEntry);
      } catch {
        // A file being written by another process right now; the next rebuild lists it.
      }
    }
    entries.sort((a, b) => a.when.localeCompare(b.when) || a.name.localeCompare(b.name));
    const tmp = `.index-${process.pid}-${Math.random().toString(36).slice(2)}`;
    writeFileSync(join(this.dir, `${tmp}.json`), `${JSON.stringify(entries, null, 2)}\n`);
    renameSync(join(this.dir, `${tmp}.json`), join(this.dir, "index.json"));
    writeFileSync(join(this.dir, `${tmp}.html`), INDEX_HTML({ entries, style: PAGE_STYLE }));
    renameSync(join(this.dir, `${tmp}.html`), join(this.dir, "index.html"));
    return entries;
  }

  async close(): Promise<void> {
    await this.running.catch(() => undefined);
  }
}
