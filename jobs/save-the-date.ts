import { defineKind } from "../src/worker/kind.js";

export default defineKind({ kind: "save-the-date", checks: [] });
