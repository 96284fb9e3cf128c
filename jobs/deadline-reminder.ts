import { defineKind, teamNotRegistered } from "../src/kind.js";

/**
 * "Please register by …": bulk mail. A team that registered after the reminder was queued must
 * not get it; the re-plan would drop the send too, and this check names the reason in the ledger.
 */
export default defineKind({
  name: "deadline-reminder",
  bulk: true,
  subject: (v) =>
    `Reminder: please register for the ${v.event.shortTitle} by ${v.registration.deadline}`,
  checks: [teamNotRegistered],
});
