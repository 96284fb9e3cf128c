import type { Registration } from "../model/types.js";
import { type Instant, plan } from "../planner/plan.js";
import type { Send } from "../planner/send.js";
import type { LoadedEvent } from "./definitions.js";

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
  return plan(narrowed, registrations, now).find((s) => s.id === ref.id);
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
