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
  if (ev && typeof ev === "object") {
    const s = stringOf((ev as { content?: unknown }).content);
    if (s) return s;
  }
  for (const a of msg.attachments ?? []) {
    if (a.filename && String(a.filename).endsWith(".ics")) {
      const s = stringOf(a.content);
      if (s) return s;
    }
  }
  for (const a of msg.alternatives ?? []) {
    if (String(a.contentType ?? "").startsWith("text/calendar")) {
      const s = stringOf(a.content);
      if (s) return s;
    }
  }
  return undefined;
}

const INDEX_HTML = hb.compile(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>convene outbox ({{entries.length}} messages)</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.4em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.when{white-space:nowrap}</style></head>
<body><h1>convene outbox</h1><p>{{entries.length}} messages, oldest first.</p>
<table><thead><tr><th>When (UTC)</th><th>Kind</th><th>Step</th><th>To</th><th>Subject</th><th>Files</th></tr></thead><tbody>
{{#each entries}}<tr><td class="when">{{when}}</td><td>{{kind}}</td><td>{{step}}</td><td>{{to}}</td>
<td>{{#if html}}<a href="{{html}}">{{subject}}</a>{{else}}{{subject}}{{/if}}</td>
<td><a href="{{eml}}">.eml</a>{{#if text}} <a href="{{text}}">.txt</a>{{/if}}{{#if ics}} <a href="{{ics}}">.ics</a>{{/if}}</td></tr>
{{/each}}</tbody></table></body></html>
`);

export class Outbox {
  private queued: Promise<void> | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {}

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
    for (const ext of ["html", "text", "ics"] as const) {
      const content = extra[ext];
      if (!content) continue;
      entry[ext] = `${name}.${ext === "text" ? "txt" : ext}`;
      writeFileSync(join(this.dir, entry[ext]), content);
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
    writeFileSync(join(this.dir, `${tmp}.html`), INDEX_HTML({ entries }));
    renameSync(join(this.dir, `${tmp}.html`), join(this.dir, "index.html"));
    return entries;
  }

  async close(): Promise<void> {
    await this.running.catch(() => undefined);
  }
}
