import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { KINDS } from "../../jobs/index.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { campaign, type EventSpec, event } from "../../src/model/schema.js";
import type { EventDefinition, Recipient } from "../../src/model/types.js";

export const ROOT = join(import.meta.dirname, "..", "..");
export const CA_LMI = join(ROOT, "events", "ca-lmi-2017");

export function recipient(email: string, name: string, extra: Partial<Recipient> = {}): Recipient {
  return { email, name, fields: {}, source: { file: "people.csv", line: 2 }, ...extra };
}

/**
 * The mini fixture event with parts replaced, validated by the real schema (so a fixture can
 * never be something the loader would refuse).
 */
export function miniDef(overrides: Partial<EventSpec> = {}): EventDefinition {
  const base = parse(
    readFileSync(join(ROOT, "test/fixtures/calendar/mini-event.yaml"), "utf8"),
  ) as EventSpec;
  const ev = event.parse({ ...base, ...overrides });
  return {
    dir: join(ROOT, "test/fixtures/calendar"),
    files: { event: "mini-event.yaml", campaign: "campaign.yaml" },
    event: ev,
    campaign: campaign.parse({
      steps: [
        {
          id: "invite",
          kind: "calendar-invite",
          audience: "people",
          trigger: { at: "2017-01-10 09:00" },
        },
      ],
    }),
    audiences: { people: [recipient("pat@example.com", "Pat O'Brien")] },
    registrations: [],
    kinds: KINDS,
  };
}

export function caLmi(): EventDefinition {
  return loadEventOrThrow(CA_LMI, KINDS);
}
