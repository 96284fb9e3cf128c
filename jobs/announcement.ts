import { defineKind } from "../src/kind.js";
import { aboutFile } from "../src/render/calendar-links.js";

/**
 * Upcoming activities: bulk mail whose "add to calendar" file holds every dated session and
 * event it lists as still ahead.
 */
export default defineKind({
  name: "announcement",
  bulk: true,
  subject: (v) => `Upcoming activities from the ${v.organizer.name}`,
  announces: {
    items: ({ all, listed }) => all.filter((i) => listed.has(i.id)),
    file: (def, step) => aboutFile(def, step, () => `${step.id}-dates`),
  },
  checks: [],
});
