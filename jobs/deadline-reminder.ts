import { defineKind, teamNotRegistered } from "../src/worker/kind.js";

/**
 * "Please register by …": a team that registered after the reminder was queued must not get it.
 * The re-plan would drop the send too; this check names the reason in the ledger.
 */
export default defineKind({ kind: "deadline-reminder", checks: [teamNotRegistered] });
