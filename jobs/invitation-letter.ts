import { defineKind } from "../src/kind.js";
import { agendaItems, eventFile } from "../src/render/calendar-links.js";

/**
 * The official letter: personal mail (not bulk), with the institute's agenda to add to a
 * calendar. No kind-specific re-check beyond the common ones (control, plan, suppression).
 */
export default defineKind({
  name: "invitation-letter",
  bulk: false,
  subject: (v) => `Invitation: ${v.event.title}, ${v.event.dates}`,
  announces: {
    items: ({ all }) => agendaItems(all),
    file: (def) => eventFile(def),
  },
  checks: [],
});
