import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deletePrefix, REDIS_URL } from "../support/redis.js";
import { uniquePrefix } from "../worker/fixture.js";
import { BUILT_CLI, removeDir, requireBuild, scratchWithExample } from "./support.js";

const SCRIPT = "/usr/bin/script";
const prefix = uniquePrefix();
let dir: string;

beforeAll(() => {
  requireBuild();
  dir = scratchWithExample();
});
afterAll(async () => {
  if (dir) removeDir(dir);
  await deletePrefix(`${prefix}-rehearsal-ca-lmi-2017`);
});

/** The terminal's redraws, as the lines a person saw: escape sequences dropped. */
function screenLines(raw: string): string[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are what is removed.
  const plain = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
  return plain.split(/\r?\n|\r/).filter((l) => l.trim());
}

describe("rehearse on a terminal (script(1), from Debian's essential bsdutils)", () => {
  it("redraws the simulated time, each step's sent/planned and the elapsed time", () => {
    const cmd = `"${process.execPath}" "${BUILT_CLI}" rehearse events/ca-lmi-2017 --until 2017-05-16`;
    // script(1) gives the command a pseudo-terminal, as an organizer's shell would.
    const r = spawnSync(SCRIPT, ["-qfec", cmd, "/dev/null"], {
      cwd: dir,
      env: {
        ...process.env,
        REDIS_URL,
        CONVENE_PREFIX: prefix,
      },
      encoding: "utf8",
      timeout: 150_000,
    });
    expect(r.status, r.stdout).toBe(0);
    const lines = screenLines(r.stdout);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^Rehearsing: Mon May 15 2017, 9:00 AM PDT \(moment \d of 1\), \d+:\d\d elapsed$/,
      ),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}invitation-letter +104\/104 sent$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^Rehearsed ca-lmi-2017 in 1 simulated moment /),
    );
  }, 180_000);
});
