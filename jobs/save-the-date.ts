import { defineKind } from "../src/kind.js";
import { aboutFile, itemsAbout } from "../src/render/calendar-links.js";

/** Bulk mail about the event, or the related event or series it is `about`, with its dates. */
export default defineKind({
  name: "save-the-date",
  bulk: true,
  subject: (v) =>
    v.aboutRelated
      ? `Save the date: ${v.aboutRelated.title}, ${v.aboutRelated.dates}`
      : `Save the date: ${v.event.shortTitle}, ${v.event.dates}`,
  announces: {
    items: ({ all, step }) => itemsAbout(all, step),
    file: (def, step) => aboutFile(def, step, (about) => about.id),
  },
  checks: [],
});
