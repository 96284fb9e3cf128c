import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function preview(args: string[]) {
  const out = mkdtempSync(join(tmpdir(), "convene-preview-"));
  dirs.push(out);
  const r = runCli(["preview", "events/ca-lmi-2017", ...args, "--out", out]);
  const files = r.status === 0 ? readdirSync(out).sort() : [];
  const read = (ext: string) => {
    const f = files.find((x) => x.endsWith(`.${ext}`));
    return f ? readFileSync(join(out, f)) : Buffer.alloc(0);
  };
  return { r, files, read };
}

describe("convene preview", () => {
  it("writes the letter of the step's first recipient as .html, .txt and .eml", async () => {
    const { r, files, read } = preview(["--step", "invitation-letter"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // The .ics is the institute's agenda the letter attaches (issue 9, item 8).
    expect(files.map((f) => f.replace(/^.*\./, ""))).toEqual(["eml", "html", "ics", "txt"]);
    // The first row of superintendents.csv.
    expect(read("txt").toString()).toContain("Dear Superintendent Goldberg:");
    expect(read("html").toString()).toContain("Dear Superintendent Goldberg:");
    const m = await simpleParser(read("eml"));
    expect(m.html).toContain("Dear Superintendent Goldberg:");
    expect(m.text).toContain("Please register");
    expect(m.from?.value[0]?.address).toBe("lmi@cdefoundation.org");
    expect(m.replyTo?.value[0]?.address).toBe("ed@cdefoundation.org");
    expect(m.messageId).toMatch(
      /^<ca-lmi-2017\.invitation-letter\.[0-9a-f]{16}@cdefoundation\.org>$/,
    );
    expect(m.date).toBeInstanceOf(Date);
    expect(m.headers.has("list")).toBe(false);
  });

  it("previews a given recipient; the reminder's .eml has both unsubscribe headers", async () => {
    const { r, read } = preview([
      "--step",
      "reminder-7d",
      "--recipient",
      "maya.bellamy@alpine-coe.k12.test",
    ]);
    expect(r.status).toBe(0);
    const m = await simpleParser(read("eml"));
    expect(m.to && "value" in m.to ? m.to.value[0]?.address : "").toBe(
      "maya.bellamy@alpine-coe.k12.test",
    );
    const keys = m.headerLines.map((h) => h.key);
    expect(keys).toContain("list-unsubscribe");
    expect(keys).toContain("list-unsubscribe-post");
  });

  it("writes the .ics of a calendar invite", () => {
    const { r, files, read } = preview(["--step", "calendar-invite"]);
    expect(r.status).toBe(0);
    expect(files.some((f) => f.endsWith(".ics"))).toBe(true);
    expect(read("ics").toString()).toContain("METHOD:REQUEST");
  });

  it("says clearly when the step or the recipient is unknown", () => {
    const a = preview(["--step", "no-such-step"]).r;
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/no step "no-such-step".*invitation-letter/);
    const b = preview(["--step", "invitation-letter", "--recipient", "nobody@example.org"]).r;
    expect(b.status).toBe(2);
    expect(b.stderr).toContain('nobody@example.org is not in audience "superintendents"');
  });
});
