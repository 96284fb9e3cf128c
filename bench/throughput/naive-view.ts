/**
 * What a straightforward worker would hand Handlebars: the event.yaml and the step as written,
 * plus the recipient. It is not convene's view (src/render/view.ts), only close enough that the
 * same template renders to a message of about the same size.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { Kind, Recipient } from "./event.js";

interface Session {
  start?: string;
  end?: string;
  title: string;
  room?: string;
  tracks?: { title: string; room?: string }[];
}

interface Day {
  id?: string;
  date: string;
  title?: string;
  audience?: string;
  start?: string;
  end?: string;
  room?: string;
  sessions?: Session[];
}

interface EventYaml {
  title: string;
  shortTitle?: string;
  timezone: string;
  organizer: { name: string; email: string; domain: string; website?: string };
  venue: { name: string };
  links: Record<string, string>;
  days: Day[];
  coalition?: string[];
  hashtags?: string[];
  [key: string]: unknown;
}

export interface StepYaml {
  id: string;
  subject: string;
  items?: string[];
  values?: Record<string, string>;
}

export interface NaiveEvent {
  event: EventYaml;
  step: StepYaml;
  day: Day | undefined;
}

export function readNaiveEvent(dir: string): NaiveEvent {
  const event = parse(readFileSync(join(dir, "event.yaml"), "utf8")) as EventYaml;
  const campaign = parse(readFileSync(join(dir, "campaign.yaml"), "utf8")) as {
    steps: StepYaml[];
  };
  const step = campaign.steps[0] as StepYaml;
  const item = step.items?.[0];
  const day = event.days.find((d) => (d.id ?? `day-${d.date}`) === item);
  return { event, step, day };
}

function inviteView(ev: NaiveEvent) {
  const day = ev.day;
  if (!day) return undefined;
  return {
    title: day.title ?? ev.event.title,
    when: `${day.date} ${day.start ?? ""}–${day.end ?? ""} (${ev.event.timezone})`,
    where: [ev.event.venue.name, day.room].filter(Boolean).join(", "),
    agenda: true,
    day: {
      audience: day.audience,
      sessions: (day.sessions ?? []).map((s) => ({ ...s, time: s.start })),
    },
  };
}

export function naiveView(ev: NaiveEvent, kind: Kind, r: Recipient): Record<string, unknown> {
  const e = ev.event;
  return {
    ...e,
    subject: ev.step.subject,
    values: ev.step.values ?? {},
    date: "May 15, 2017",
    recipient: r,
    event: {
      name: ev.step.values?.eventName ?? e.title,
      shortTitle: e.shortTitle,
      url: e.links["event-page"],
      dates: "June 20-21, 2017",
    },
    coalitionText: (e.coalition ?? []).join(", "),
    hashtagText: (e.hashtags ?? []).join(" "),
    unsubscribe: {
      url: `https://${e.organizer.domain}/unsubscribe?u=${encodeURIComponent(r.email)}`,
    },
    ...(kind === "invite" ? { invite: inviteView(ev) } : {}),
  };
}
