/**
 * What a processor in jobs/ declares about its message kind: the extra re-checks to run before
 * sending (each returns a skip reason or nothing) and, for calendar invites, the iTIP sequence
 * and method to render with. Everything common — control, re-planning, suppression, the ledger
 * claim, SMTP and its errors — is the shared runtime's (runtime.ts).
 */
import type { DateTime } from "luxon";
import type { InviteBasis } from "../calendar/basis.js";
import type { ItemSnapshot } from "../calendar/snapshot.js";
import type { MessageKind } from "../model/schema.js";
import type { Registration } from "../model/types.js";
import type { Send } from "../planner/send.js";
import type { Stores } from "../store/index.js";
import type { LoadedEvent } from "./definitions.js";
import type { SendJobData } from "./queue.js";

export interface CheckContext {
  data: SendJobData;
  loaded: LoadedEvent;
  /** Registrations of the recipient's team known now (file and Redis). */
  registrations: readonly Registration[];
  now: DateTime;
  stores: Stores;
}

/** Returns why the send must be skipped, or undefined to go on. */
export type Check = (ctx: CheckContext) => Promise<string | undefined> | string | undefined;

export interface CalendarParams {
  sequence: number;
  method: "REQUEST" | "CANCEL";
  /** The item as attendees hold it: a CANCEL for an item no longer defined is built from it. */
  last?: ItemSnapshot;
  /** For an update: what changed, for its cover. */
  changed?: readonly string[];
  /** How the recipient's copy was composed: an update or CANCEL whose step is gone uses it. */
  basis?: InviteBasis;
}

export interface KindProcessor {
  kind: MessageKind;
  checks: readonly Check[];
  /** Calendar invites: the SEQUENCE and METHOD this send is rendered with. */
  calendar?: (ctx: CheckContext & { send: Send }) => Promise<CalendarParams> | CalendarParams;
  /**
   * Sends that are not the planner's (calendar updates and cancellations) are rebuilt from the
   * job instead of re-planned; return undefined for a planner send.
   */
  fromJob?: (ctx: CheckContext) => Send | undefined;
  /** After SMTP accepted the message (e.g. record who now holds which calendar version). */
  afterSent?: (ctx: CheckContext & { send: Send; calendar?: CalendarParams }) => Promise<void>;
}

export function defineKind(k: KindProcessor): KindProcessor {
  return k;
}

/** Reminders are only for teams that have not registered; one that registered since is skipped. */
export const teamNotRegistered: Check = ({ data, loaded, registrations, now }) => {
  const step = loaded.def.campaign.steps.find((s) => s.id === data.step);
  const recipient = step && loaded.byEmail.get(step.audience)?.get(data.recipient.toLowerCase());
  const team = recipient?.team;
  if (!team) return undefined;
  const reg = registrations
    .filter((r) => r.team === team && Date.parse(r.registeredAt) <= now.toMillis())
    .sort((a, b) => a.registeredAt.localeCompare(b.registeredAt))[0];
  return reg ? `team ${team} registered (${reg.registeredAt})` : undefined;
};
