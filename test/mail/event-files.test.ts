/**
 * Composing reads files named in the event folder (attachments, the event's templates and what
 * they include) for every recipient. It must only ever read checked paths inside the folder,
 * even when the folder changed after it was validated (a symlink swapped in).
 */

import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DateTime } from "luxon";
import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { toEml } from "../../src/mail/eml.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { loadTemplate } from "../../src/render/template.js";
import { ROOT } from "../support/cli.js";
import { eventDirFrom } from "../support/event-dir.js";

const config = loadConfig({ UNSUBSCRIBE_SECRET: "0123456789abcdef0123456789abcdef" });
const SECRET_TEXT = "SMTP_URL=smtp://lmi:hunter2@relay.test";
const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function temp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

function copyOfSeedLetter(): string {
  const built = eventDirFrom(join(ROOT, "test", "fixtures", "mail", "seed-letter"));
  temps.push(dirname(built.dir));
  mkdirSync(join(built.dir, "templates"), { recursive: true });
  return built.dir;
}

function outsideSecret(): string {
  const file = join(temp("convene-outside-"), "environ");
  writeFileSync(file, SECRET_TEXT);
  return file;
}

function saveTheDate(dir: string) {
  const def = loadEventOrThrow(dir, KINDS);
  const sends = plan(def, def.registrations, DateTime.fromISO("2017-07-01T00:00:00Z"));
  const send = sends.find((s) => s.step === "abc-save-the-date");
  if (!send) throw new Error("no save-the-date send");
  return { def, send };
}

describe("attachments at compose time", () => {
  it("attaches the checked file inside the event folder", async () => {
    const dir = copyOfSeedLetter();
    const { def, send } = saveTheDate(dir);
    const msg = await composeMessage(def, send, { config });
    // Files come by path, checked; the save-the-date's own .ics is built, not read from disk.
    const files = (msg.attachments ?? []).filter((a) => a.path !== undefined);
    expect(files).toEqual([{ filename: "flyer.pdf", path: realpathSync(join(dir, "flyer.pdf")) }]);
  });

  it("refuses an attachment swapped for a symlink out of the folder after validation", async () => {
    const dir = copyOfSeedLetter();
    const { def, send } = saveTheDate(dir);
    rmSync(join(dir, "flyer.pdf"));
    symlinkSync(outsideSecret(), join(dir, "flyer.pdf"));
    await expect(composeMessage(def, send, { config })).rejects.toThrow(
      /attachment flyer\.pdf is a symbolic link to a file outside the event folder/,
    );
  });

  it("refuses a definition whose attachment leaves the folder, even if it skipped the loader", async () => {
    const dir = copyOfSeedLetter();
    const { def, send } = saveTheDate(dir);
    const step = def.campaign.steps.find((s) => s.id === "abc-save-the-date");
    if (step) step.attachments = ["../../../../../../../../proc/self/environ"];
    const composed = composeMessage(def, send, { config }).then(toEml);
    await expect(composed).rejects.toThrow(/must stay inside the event folder/);
  });
});

describe("event templates", () => {
  it("an mj-include that leaves the event folder is a template error, and nothing is read", async () => {
    const dir = copyOfSeedLetter();
    const secret = outsideSecret();
    writeFileSync(
      join(dir, "templates", "escape.mjml"),
      `<mjml><mj-body><mj-include path="${"../".repeat(12)}${secret.slice(1)}" /></mj-body></mjml>\n`,
    );
    const err = await loadTemplate(dir, "escape").then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/escape\.mjml:1: mj-include .* outside the event folder/);
    expect(err?.message).not.toContain("hunter2");
  });

  it("an event template that is a symlink out of the folder is refused", async () => {
    const dir = copyOfSeedLetter();
    symlinkSync(outsideSecret(), join(dir, "templates", "linked.mjml"));
    await expect(loadTemplate(dir, "linked")).rejects.toThrow(
      /templates\/linked\.mjml is a symbolic link to a file outside the event folder/,
    );
  });
});
