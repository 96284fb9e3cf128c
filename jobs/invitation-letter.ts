import { defineKind } from "../src/worker/kind.js";

/** The official letter: no kind-specific re-check beyond the common ones (control, plan, suppression). */
export default defineKind({ kind: "invitation-letter", checks: [] });
