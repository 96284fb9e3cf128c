import { defineKind } from "../src/kind.js";

/** Asks attending districts to announce their participation locally: bulk, no dates. */
export default defineKind({
  name: "press-release-prompt",
  bulk: true,
  subject: (v) => `Please consider a press release about attending the ${v.event.shortTitle}`,
  checks: [],
});
