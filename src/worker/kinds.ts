import announcement from "../../jobs/announcement.js";
import calendarInvite from "../../jobs/calendar-invite.js";
import deadlineReminder from "../../jobs/deadline-reminder.js";
import invitationLetter from "../../jobs/invitation-letter.js";
import pressReleasePrompt from "../../jobs/press-release-prompt.js";
import saveTheDate from "../../jobs/save-the-date.js";
import type { MessageKind } from "../model/schema.js";
import type { KindProcessor } from "./kind.js";

/** The processor for each message kind (jobs/<kind>.ts). */
export const KINDS: ReadonlyMap<MessageKind, KindProcessor> = new Map(
  [
    invitationLetter,
    deadlineReminder,
    calendarInvite,
    saveTheDate,
    announcement,
    pressReleasePrompt,
  ].map((k) => [k.kind, k]),
);
