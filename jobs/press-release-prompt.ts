import { defineKind } from "../src/worker/kind.js";

export default defineKind({ kind: "press-release-prompt", checks: [] });
