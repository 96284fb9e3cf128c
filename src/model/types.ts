import type { KindRegistry } from "../kind.js";
import type { CampaignSpec, EventSpec } from "./schema.js";

/** Where a value came from, for error messages and reports. */
export interface SourceRef {
  file: string;
  line: number;
}

/** One row of an audience CSV. Columns beyond the known ones land in `fields` for templates. */
export interface Recipient {
  email: string;
  name: string;
  /** The district team this person belongs to (or speaks for); registration is per team. */
  team?: string;
  role?: string;
  /** IANA zone for steps that fire at the recipient's local time. */
  timezone?: string;
  organization?: string;
  title?: string;
  /** How the letter greets them, e.g. "Dr. Alvarez"; defaults to the name. */
  salutation?: string;
  fields: Record<string, string>;
  source: SourceRef;
}

export interface Registration {
  team: string;
  /** ISO 8601 UTC instant. */
  registeredAt: string;
  source?: SourceRef;
}

/** Everything one event directory defines, loaded and validated: data, and the kinds' rules. */
export interface EventDefinition {
  dir: string;
  files: { event: string; campaign: string };
  event: EventSpec;
  campaign: CampaignSpec;
  audiences: Record<string, Recipient[]>;
  registrations: Registration[];
  /** The kinds it was checked against (every step's kind is one of them). */
  kinds: KindRegistry;
}
