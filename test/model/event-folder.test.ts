/**
 * Every file a definition names is mailed or rendered for every recipient, so it must come from
 * inside the event folder: issue 8 mailed /proc/self/environ (SMTP password included) as an
 * "attachment". Real files, real symlinks, a real sparse file for the size cap.
 */

import { mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEvent } from "../../src/model/load.js";
import { MAX_ATTACHMENT_BYTES } from "../../src/model/paths.js";
import { formatProblem } from "../../src/model/problems.js";
import { BASE_EVENT, baseFiles, removeDir, writeEventDir } from "../support/event-dir.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** A secret that lives outside every event folder, as the worker's environment does. */
function outsideFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "convene-outside-"));
  dirs.push(dir);
  const file = join(dir, "secrets.env");
  writeFileSync(file, "SMTP_URL=smtp://user:hunter2@relay.test\n");
  return file;
}

function eventWith(files: Record<string, string>, setup: (dir: string) => void = () => {}) {
  const dir = writeEventDir(files);
  dirs.push(dir);
  setup(dir);
  const r = loadEvent(dir, KINDS);
  return { r, lines: r.problems.map(formatProblem).map((l) => l.replace(`${dir}/`, "")) };
}

const campaignAttaching = (paths: string[]) => `steps:
  - id: letter
    kind: invitation-letter
    audience: supers
    trigger: { at: "2017-05-15 09:00" }
    attachments:
${paths.map((p) => `      - ${JSON.stringify(p)}\n`).join("")}`;

describe("attachments resolve inside the event folder", () => {
  it("refuses every way out, each at its own list entry, in one run", () => {
    const secret = outsideFile();
    const { r, lines } = eventWith(
      baseFiles(
        campaignAttaching([
          "../../../../proc/self/environ",
          secret,
          "docs/../../escape.pdf",
          "link-out.pdf",
          "environ-link",
          "recipients",
          "huge.pdf",
          "flyer.pdf",
        ]),
      ),
      (dir) => {
        symlinkSync(secret, join(dir, "link-out.pdf"));
        symlinkSync("/proc/self/environ", join(dir, "environ-link"));
        mkdirSync(join(dir, "recipients"));
        writeFileSync(join(dir, "huge.pdf"), "");
        truncateSync(join(dir, "huge.pdf"), MAX_ATTACHMENT_BYTES + 1);
        writeFileSync(join(dir, "flyer.pdf"), "%PDF-1.4\n");
      },
    );
    expect(r.definition).toBeUndefined();
    expect(lines).toEqual([
      "campaign.yaml:7:9: steps[0].attachments[0]: attachment ../../../../proc/self/environ must stay inside the event folder (no `..` out of it)",
      `campaign.yaml:8:9: steps[0].attachments[1]: attachment ${secret} must be a path inside the event folder, not an absolute path`,
      "campaign.yaml:9:9: steps[0].attachments[2]: attachment docs/../../escape.pdf must stay inside the event folder (no `..` out of it)",
      "campaign.yaml:10:9: steps[0].attachments[3]: attachment link-out.pdf is a symbolic link to a file outside the event folder",
      "campaign.yaml:11:9: steps[0].attachments[4]: attachment environ-link is a symbolic link to a file outside the event folder",
      "campaign.yaml:12:9: steps[0].attachments[5]: attachment recipients is not a regular file",
      "campaign.yaml:13:9: steps[0].attachments[6]: attachment huge.pdf is larger than the 10 MB limit (10485761 bytes)",
    ]);
  });

  it("accepts a file inside the folder, also through a symlink that stays inside", () => {
    const { r } = eventWith(
      baseFiles(campaignAttaching(["docs/flyer.pdf", "alias.pdf"])),
      (dir) => {
        mkdirSync(join(dir, "docs"));
        writeFileSync(join(dir, "docs", "flyer.pdf"), "%PDF-1.4\n");
        symlinkSync(join(dir, "docs", "flyer.pdf"), join(dir, "alias.pdf"));
      },
    );
    expect(r.problems).toEqual([]);
  });
});

describe("templates and CSV files resolve inside the event folder", () => {
  const CAMPAIGN = campaignAttaching([]).replace("    attachments:\n", "");

  it("an event template that is a symlink out is an error, not a silent fall-back", () => {
    const secret = outsideFile();
    const { lines } = eventWith(baseFiles(CAMPAIGN), (dir) => {
      const own = join(dir, "templates", "invitation-letter.mjml");
      removeDir(own);
      symlinkSync(secret, own);
    });
    expect(lines).toEqual([
      "campaign.yaml:3:11: steps[0].kind: templates/invitation-letter.mjml is a symbolic link to a file outside the event folder",
    ]);
  });

  it("an audience or registrations file outside the folder is refused where it is named", () => {
    const secret = outsideFile();
    const event = BASE_EVENT.replace("file: supers.csv", "file: ../outside.csv").replace(
      "file: registrations.csv",
      `file: ${secret}`,
    );
    const { r, lines } = eventWith(baseFiles(CAMPAIGN, { "event.yaml": event }));
    expect(r.definition).toBeUndefined();
    expect(lines).toEqual(
      expect.arrayContaining([
        "event.yaml:41:11: audiences.supers.file: ../outside.csv must stay inside the event folder (no `..` out of it)",
        `event.yaml:45:9: registrations.file: ${secret} must be a path inside the event folder, not an absolute path`,
      ]),
    );
  });

  it("an event.yaml that is a symlink out of the folder is not read", () => {
    const secret = outsideFile();
    const { lines } = eventWith(baseFiles(CAMPAIGN), (dir) => {
      removeDir(join(dir, "event.yaml"));
      symlinkSync(secret, join(dir, "event.yaml"));
    });
    expect(lines).toEqual([
      "event.yaml:1:1: file is a symbolic link to a file outside the event folder",
    ]);
  });
});
