import { defineKind } from "../src/kind.js";

/**
 * After the event, to those who took part: thanks for their work, and where the meeting
 * materials are (the event's `links.materials`, which the template shows when it is set).
 * Bulk mail, like the announcement sent to the same people: it carries one-click unsubscribe.
 * No dates to add to a calendar, and no re-check beyond the common ones.
 */
export default defineKind({
  name: "thank-you",
  bulk: true,
  subject: (v) => `Thank you for your hard work and creativity at the ${v.event.shortTitle}`,
  // The message's point is where the materials are; without the link it would only say thanks.
  stepProblems: (_step, def) =>
    def.event.links?.materials
      ? []
      : [{ warning: "a thank-you links the meeting materials: set links.materials in event.yaml" }],
  checks: [],
});
