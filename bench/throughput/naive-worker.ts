/**
 * The naive worker: a plain BullMQ worker, in its own process, that does per message what one
 * would write without caching anything: compile the MJML template, fill it with Handlebars,
 * derive the text part, build the ICS with ical-generator (the invite's REQUEST, the letter's
 * agenda attachment) and let nodemailer build the
 * MIME. Started by naive.ts; tells it "ready" over IPC, starts on "go", exits on "close".
 *
 *   argv: <redis-url> <bull-prefix> <queue> <kind> <event-dir> <smtp-url>
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "bullmq";
import Handlebars from "handlebars";
import { convert } from "html-to-text";
import ical, { ICalCalendarMethod } from "ical-generator";
import { Redis } from "ioredis";
import mjml2html from "mjml";
import nodemailer from "nodemailer";
import { type Kind, type Recipient, ROOT } from "./event.js";
import { type NaiveEvent, naiveView, readNaiveEvent } from "./naive-view.js";
import { CONCURRENCY, pooledUrl } from "./smtp.js";

const [redisUrl, bullPrefix, queueName, kindArg, eventDir, smtpUrl] = process.argv.slice(2) as [
  string,
  string,
  string,
  Kind,
  string,
  string,
];

const hb = Handlebars.create();
hb.registerHelper("or", (a: unknown, b: unknown) => a || b);
hb.registerHelper("upper", (s: unknown) => String(s ?? "").toUpperCase());
hb.registerHelper("url", (s: unknown) => String(s ?? ""));
hb.registerHelper("mailto", (s: unknown) => `mailto:${String(s ?? "")}`);
hb.registerHelper("lowerFirst", (s: unknown) => {
  const t = String(s ?? "");
  return t.charAt(0).toLowerCase() + t.slice(1);
});

function templateFile(kind: Kind): string {
  return kind === "letter"
    ? join(eventDir, "templates/invitation-letter.mjml")
    : join(ROOT, "templates/calendar-invite.mjml");
}

/** The event's template includes convene's shared partials; point MJML at them directly. */
function readTemplate(file: string): string {
  return readFileSync(file, "utf8").replaceAll(
    'path="./partials/',
    `path="${join(ROOT, "templates/partials")}/`,
  );
}

const at = (date: string, time: string | undefined) =>
  new Date(`${date}T${time ?? "09:00"}:00-07:00`);

/** The invite: the step's day, to this attendee. */
function inviteIcs(ev: NaiveEvent, r: Recipient): string {
  const day = ev.day;
  const date = day?.date ?? "2017-06-21";
  const cal = ical({ method: ICalCalendarMethod.REQUEST, prodId: "//bench//naive//EN" });
  cal.createEvent({
    id: `${ev.step.id}.${r.email}@${ev.event.organizer.domain}`,
    start: at(date, day?.start),
    end: at(date, day?.end ?? "17:00"),
    summary: day?.title ?? ev.event.title,
    location: ev.event.venue.name,
    description: (day?.sessions ?? []).map((s) => `${s.start ?? ""} ${s.title}`).join("\n"),
    organizer: { name: ev.event.organizer.name, email: ev.event.organizer.email },
    attendees: [{ email: r.email, name: r.name, rsvp: true }],
  });
  return cal.toString();
}

/** The letter's attachment, as convene's letter has one: the agenda, one event per session. */
function agendaIcs(ev: NaiveEvent): string {
  const cal = ical({ method: ICalCalendarMethod.PUBLISH, prodId: "//bench//naive//EN" });
  for (const day of ev.event.days)
    for (const s of day.sessions?.length ? day.sessions : [{ title: day.title ?? day.date }])
      cal.createEvent({
        start: at(day.date, s.start ?? day.start),
        end: at(day.date, s.end ?? day.end ?? "17:00"),
        summary: s.title,
        location: [ev.event.venue.name, s.room ?? day.room].filter(Boolean).join(", "),
        description: (s.tracks ?? []).map((t) => `${t.title}: ${t.room ?? ""}`).join("\n"),
      });
  return cal.toString();
}

function calendarParts(kind: Kind, ev: NaiveEvent, r: Recipient) {
  if (kind === "invite") return { icalEvent: { method: "REQUEST", content: inviteIcs(ev, r) } };
  return {
    attachments: [
      {
        filename: "agenda.ics",
        content: agendaIcs(ev),
        contentType: "text/calendar; method=PUBLISH",
      },
    ],
  };
}

async function main(): Promise<void> {
  const kind = kindArg;
  const ev = readNaiveEvent(eventDir);
  const file = templateFile(kind);
  const source = readTemplate(file);
  const transport = nodemailer.createTransport(pooledUrl(smtpUrl));
  const from = { name: ev.event.organizer.name, address: ev.event.organizer.email };

  async function sendOne(r: Recipient): Promise<void> {
    const { html: mjmlHtml } = await mjml2html(source, { filePath: file, validationLevel: "skip" });
    const html = hb.compile(mjmlHtml)(naiveView(ev, kind, r));
    const text = convert(html, { wordwrap: false });
    await transport.sendMail({
      from,
      to: { name: r.name, address: r.email },
      subject: ev.step.subject,
      html,
      text,
      ...calendarParts(kind, ev, r),
    });
  }

  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker<Recipient>(queueName, (job) => sendOne(job.data), {
    connection,
    prefix: bullPrefix,
    concurrency: CONCURRENCY,
    removeOnComplete: { count: 0 },
    // Started on "go", after the parent has read this process's CPU time.
    autorun: false,
  });
  await worker.waitUntilReady();
  process.on("message", async (m) => {
    if (m === "go") void worker.run();
    if (m !== "close") return;
    await worker.close();
    transport.close();
    connection.disconnect();
    process.exit(0);
  });
  // The benchmark died without saying "close": do not stay behind, holding its queue.
  process.on("disconnect", () => process.exit(1));
  process.send?.("ready");
}

main().catch((e: Error) => {
  process.stderr.write(`naive worker: ${e.stack}\n`);
  process.exit(1);
});
