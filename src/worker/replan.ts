import type { Registration } from "../model/types.js";
import { type Instant, plan } from "../planner/plan.js";
import type { Send } from "../planner/send.js";
import type { Stores } from "../store/index.js";
import type { RsvpAnswer } from "../types.js";
import type { LoadedEvent } from "./definitions.js";

/** Whether any step of the event depends on RSVP answers (only then are they read). */
export function usesRsvp(def: {
  campaign: { steps: readonly { when?: { rsvp?: string } }[] };
}): boolean {
  return def.campaign.steps.some((s) => s.when?.rsvp !== undefined);
}

/** The RSVP answers an event's plan needs: none unless a step has `when: { rsvp }`. */
export async function rsvpsFor(
  stores: Pick<Stores, "rsvp">,
  def: Parameters<typeof usesRsvp>[0] & { event: { id: string } },
): Promise<RsvpAnswer[]> {
  return usesRsvp(def) ? stores.rsvp.answers(def.event.id) : [];
}

export interface SendRef {
  id: string;
  step: string;
  recipient: string;
}

/**
 * The current version of one send, or undefined when the current definition no longer plans it.
 * Runs the one planner on a definition narrowed to the send's step and recipient, so a
 * processor re-checks with exactly the rules the scheduler used, at the cost of one recipient
 * rather than the whole audience.
 */
export function replanOne(
  ev: LoadedEvent,
  ref: SendRef,
  registrations: readonly Registration[],
  now: Instant,
  rsvps: readonly RsvpAnswer[] = [],
): Send | undefined {
  const def = ev.def;
  const step = def.campaign.steps.find((s) => s.id === ref.step);
  if (!step) return undefined;
  const recipient = ev.byEmail.get(step.audience)?.get(ref.recipient.toLowerCase());
  if (!recipient) return undefined;
  const narrowed = {
    ...def,
    campaign: { ...def.campaign, steps: [step] },
    audiences: { [step.audience]: [recipient] },
  };
  // The planner sorts by step order; the narrowed campaign has one step, which changes no id.
  return plan(narrowed, registrations, now, rsvps).find((s) => s.id === ref.id);
}

/** File registrations plus those recorded in Redis, for one team or all. */
export function mergeRegistrations(
  fromFile: readonly Registration[],
  fromStore: readonly Registration[],
  team?: string,
): Registration[] {
  const all = [...fromFile, ...fromStore];
  return team === undefined ? all : all.filter((r) => r.team === team);
}

/** The recipient's team in the send's step, if the step and recipient are still defined. */
export function teamOf(
  loaded: LoadedEvent,
  d: Pick<SendRef, "step" | "recipient">,
): string | undefined {
  const step = loaded.def.campaign.steps.find((s) => s.id === d.step);
  return step ? loaded.byEmail.get(step.audience)?.get(d.recipient.toLowerCase())?.team : undefined;
}

/** The registrations a processor re-checks one send with: its recipient's team's, file and Redis. */
export async function registrationsFor(
  stores: Pick<Stores, "registrations">,
  loaded: LoadedEvent,
  d: Pick<SendRef, "step" | "recipient"> & { event: string },
): Promise<Registration[]> {
  const team = teamOf(loaded, d);
  return mergeRegistrations(
    loaded.def.registrations,
    team ? await stores.registrations.forTeam(d.event, team) : [],
    team,
  );
}

/**
 * The reason a once-planned send is no longer in the plan, in an organizer's words, and whether
 * it is `unplanned`: removed (recipient, step) or otherwise no longer planned, which a later
 * edit can undo before the send expires. A team that registered stays decided. Shared by the
 * processor's re-check and the scheduler's sweep of sends the plan dropped.
 */
export function whyNotPlanned(
  loaded: LoadedEvent,
  d: { step: string; recipient: string },
  registered: (team: string) => boolean,
): { reason: string; unplanned: boolean } {
  const step = loaded.def.campaign.steps.find((s) => s.id === d.step);
  if (!step) return { reason: `step ${d.step} was removed from the campaign`, unplanned: true };
  const r = loaded.byEmail.get(step.audience)?.get(d.recipient.toLowerCase());
  if (!r)
    return { reason: `${d.recipient} was removed from audience ${step.audience}`, unplanned: true };
  if (step.when?.registered === false && r.team && registered(r.team))
    return { reason: `team ${r.team} registered`, unplanned: false };
  // An answer can change again (a decline turned accept), so this one stays re-plannable.
  if (step.when?.rsvp)
    return { reason: `the RSVP condition (${step.when.rsvp}) no longer holds`, unplanned: true };
  return { reason: "no longer planned (the definition changed)", unplanned: true };
}
