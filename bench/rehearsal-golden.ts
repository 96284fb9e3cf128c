/**
 * Writes test/fixtures/rehearsal-golden.txt from a rehearsal outbox: the baseline the
 * rehearsal-golden check compares every later rehearsal with. Run it only on a commit whose
 * messages are right, and only when what recipients get is meant to change:
 *   npm run build && npx convene rehearse events/ca-lmi-2017 \
 *     && npx tsx bench/rehearsal-golden.ts outbox/ca-lmi-2017-rehearsal
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { formatGolden, GOLDEN, outboxDigests } from "../test/support/rehearsal-golden.js";

const dir = process.argv[2];
if (!dir) throw new Error("usage: tsx bench/rehearsal-golden.ts <outbox dir>");
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
const digests = outboxDigests(dir);
writeFileSync(GOLDEN, formatGolden(digests, commit));
console.log(`${GOLDEN}: ${digests.size} digests from ${dir} at ${commit}`);
