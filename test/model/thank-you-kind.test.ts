/**
 * The thank-you kind's own rule: its message is there to say where the meeting materials are,
 * so `convene validate` warns (and still passes) when the event has no `links.materials`.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, runCli } from "../support/cli.js";

const dir = mkdtempSync(join(tmpdir(), "convene-thanks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a thank-you step", () => {
  it("with links.materials: no problem; without: one located warning, exit 0", () => {
    const ok = runCli(["validate", join(ROOT, "events/ca-lmi-2017")]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout + ok.stderr).not.toContain("links.materials");

    const ev = join(dir, "ca-lmi-2017");
    cpSync(join(ROOT, "events/ca-lmi-2017"), ev, { recursive: true });
    const yaml = readFileSync(join(ev, "event.yaml"), "utf8");
    expect(yaml).toMatch(/^ {2}materials: /m);
    writeFileSync(join(ev, "event.yaml"), yaml.replace(/^ {2}materials: .*\n/m, ""));
    const r = runCli(["validate", ev]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(
      /campaign\.yaml:1:1: .*step thank-you: a thank-you links the meeting materials: set links\.materials in event\.yaml/,
    );
  }, 90_000);
});
