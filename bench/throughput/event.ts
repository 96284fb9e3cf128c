/**
 * The measured event: a copy of events/ca-lmi-2017 (its event.yaml, templates and the step of
 * the measured kind, unchanged) with N generated recipients in one registered team and a
 * campaign of that one step, due at a chosen moment. The trigger is "one minute after the team
 * registered", with the registration recorded a minute before that moment: the planner only
 * knows registrations already made, and durations have minute resolution.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";

export type Kind = "letter" | "invite";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const SOURCE_EVENT = join(ROOT, "events/ca-lmi-2017");
export const EVENT_ID = "ca-lmi-2017";
export const TEAM = "bench-usd";

/** The step of events/ca-lmi-2017/campaign.yaml each kind is measured with. */
export const STEP_OF: Record<Kind, string> = {
  letter: "invitation-letter",
  invite: "calendar-invite",
};

/** One calendar item per recipient, so N recipients make N messages (the agenda day). */
const INVITE_ITEM = "day-2017-06-21";

export interface Recipient {
  email: string;
  name: string;
  salutation: string;
}

/** Short fields: convene reads a recipients file of at most 10 MB, and N may be 100,000. */
export function recipient(i: number): Recipient {
  const n = String(i).padStart(6, "0");
  return { email: `p${n}@d${i % 900}.k12.test`, name: `Person ${n}`, salutation: `Dr. ${n}` };
}

function csv(header: string, rows: string[]): string {
  return `${header}\n${rows.join("\n")}\n`;
}

/** N rows in the measured step's audience; the other audience keeps one, so the team exists. */
function writeRecipients(dir: string, kind: Kind, n: number): void {
  const supers: string[] = [];
  const members: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = recipient(i);
    if (kind === "letter" || i === 0)
      supers.push(`${r.email},${r.name},${r.salutation},Superintendent,Bench USD,${TEAM},`);
    if (kind === "invite" || i === 0)
      members.push(`${r.email},${r.name},Superintendent,${TEAM},Bench USD,no`);
  }
  writeFileSync(
    join(dir, "recipients/superintendents.csv"),
    csv("email,name,salutation,title,organization,team,timezone", supers),
  );
  writeFileSync(
    join(dir, "recipients/team-members.csv"),
    csv("email,name,role,team,district,new_to_lmi", members),
  );
}

function writeCampaign(dir: string, kind: Kind, registeredAt: Date, offsetMinutes: number): void {
  const source = parse(readFileSync(join(SOURCE_EVENT, "campaign.yaml"), "utf8")) as {
    steps: Record<string, unknown>[];
  };
  const step = source.steps.find((s) => s.id === STEP_OF[kind]);
  if (!step) throw new Error(`events/ca-lmi-2017 has no step ${STEP_OF[kind]}`);
  const measured = {
    ...step,
    trigger: { anchor: "registration", offset: `${offsetMinutes}m` },
    ...(kind === "invite" ? { items: [INVITE_ITEM] } : {}),
  };
  writeFileSync(join(dir, "campaign.yaml"), stringify({ steps: [measured] }));
  writeFileSync(
    join(dir, "recipients/registrations.csv"),
    csv("team,registered_at", [`${TEAM},${registeredAt.toISOString()}`]),
  );
}

/**
 * The worker takes an event file changed within the last second (CONVENE_SETTLE_MS) for one
 * still being written and waits a tick; the files are dated back so that the first tick plans.
 */
export function backdate(dir: string): void {
  const past = new Date(Date.now() - 60_000);
  for (const entry of readdirSync(dir, { recursive: true, encoding: "utf8" }))
    utimesSync(join(dir, entry), past, past);
  utimesSync(dir, past, past);
}

/**
 * Writes the event in a new temporary folder; its one step falls due at `dueAt`,
 * `offsetMinutes` after the team's registration (which the planner sees once it has passed).
 */
export function writeEvent(kind: Kind, n: number, dueAt: Date, offsetMinutes = 1): string {
  const dir = join(mkdtempSync(join(tmpdir(), "convene-bench-")), EVENT_ID);
  cpSync(SOURCE_EVENT, dir, { recursive: true });
  writeRecipients(dir, kind, n);
  const registeredAt = new Date(dueAt.getTime() - offsetMinutes * 60_000);
  writeCampaign(dir, kind, registeredAt, offsetMinutes);
  backdate(dir);
  return dir;
}
