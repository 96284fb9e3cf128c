/**
 * `convene status <event> --rsvp`: per calendar item and per team, who accepted, declined,
 * answered tentatively or has not answered. Pure: it takes the definition, who holds each item
 * (the calendar state's delivery records) and the recorded answers.
 */
import type { EventDefinition } from "../model/types.js";
import type { OtherAnswer, RsvpEntry } from "../store/rsvp.js";

export const ANSWERS = ["accepted", "declined", "tentative", "no answer"] as const;
export type AnswerGroup = (typeof ANSWERS)[number];

export interface RsvpPerson {
  email: string;
  name: string;
  /** Set when the answer came as a counter-proposal: the proposed start (ISO UTC). */
  counter?: string;
}

export interface RsvpTeam {
  team: string;
  answers: Record<AnswerGroup, RsvpPerson[]>;
}

export interface RsvpItem {
  item: string;
  totals: Record<AnswerGroup, number>;
  teams: RsvpTeam[];
  /** Answers that are not current: to an older SEQUENCE, or from someone who does not hold it. */
  stale: number;
  fromNonInvitees: number;
}

function group(partstat: string | undefined): AnswerGroup {
  switch (partstat) {
    case "ACCEPTED":
      return "accepted";
    case "DECLINED":
      return "declined";
    case "TENTATIVE":
      return "tentative";
    default:
      return "no answer";
  }
}

const empty = <T>(f: () => T) =>
  Object.fromEntries(ANSWERS.map((a) => [a, f()])) as Record<AnswerGroup, T>;

/** Names and teams from every audience of the event, by lowercased address. */
function people(def: EventDefinition): Map<string, { name: string; team: string }> {
  const out = new Map<string, { name: string; team: string }>();
  for (const list of Object.values(def.audiences))
    for (const r of list)
      if (!out.has(r.email.toLowerCase()))
        out.set(r.email.toLowerCase(), { name: r.name, team: r.team ?? "(no team)" });
  return out;
}

export function computeRsvp(
  def: EventDefinition,
  holders: ReadonlyMap<string, readonly string[]>,
  answers: readonly RsvpEntry[],
  others: readonly OtherAnswer[],
): RsvpItem[] {
  const who = people(def);
  const byKey = new Map(answers.map((a) => [`${a.item}\n${a.email}`, a]));
  const items = [...new Set([...holders.keys(), ...answers.map((a) => a.item)])].sort();
  return items.map((item) => {
    const teams = new Map<string, RsvpTeam>();
    const totals = empty(() => 0);
    const emails = new Set([
      ...(holders.get(item) ?? []),
      ...answers.filter((a) => a.item === item).map((a) => a.email),
    ]);
    for (const email of [...emails].sort()) {
      const a = byKey.get(`${item}\n${email}`);
      const p = who.get(email);
      const team = p?.team ?? "(no team)";
      const t = teams.get(team) ?? { team, answers: empty(() => [] as RsvpPerson[]) };
      teams.set(team, t);
      const g = group(a?.partstat);
      t.answers[g].push({
        email,
        name: p?.name ?? a?.name ?? email,
        ...(a?.counter ? { counter: a.counter } : {}),
      });
      totals[g]++;
    }
    const mine = others.filter((o) => o.item === item);
    return {
      item,
      totals,
      teams: [...teams.values()].sort((x, y) => x.team.localeCompare(y.team)),
      stale: mine.filter((o) => o.why === "stale").length,
      fromNonInvitees: mine.filter((o) => o.why === "non-invitee").length,
    };
  });
}

/** The text table: one block per item, a line per team and answer with the names. */
export function rsvpText(items: readonly RsvpItem[]): string {
  if (!items.length) return "No calendar invitations delivered, and no answers.\n";
  const lines: string[] = [];
  for (const it of items) {
    const totals = ANSWERS.map((a) => `${it.totals[a]} ${a}`).join(", ");
    lines.push(`${it.item}: ${totals}`);
    for (const t of it.teams)
      for (const a of ANSWERS)
        if (t.answers[a].length)
          lines.push(
            `  ${t.team}  ${a}: ${t.answers[a].map((p) => (p.counter ? `${p.name} (proposes ${p.counter})` : p.name)).join(", ")}`,
          );
    if (it.stale || it.fromNonInvitees)
      lines.push(
        `  not counted: ${it.stale} answer${it.stale === 1 ? "" : "s"} to an older version, ${it.fromNonInvitees} from non-invitees`,
      );
  }
  return `${lines.join("\n")}\n`;
}
