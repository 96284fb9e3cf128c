/** The pure parts around inbound: the `when: { rsvp }` condition and the VERP envelope. */
import { join } from "node:path";
import { DateTime } from "luxon";
import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { verpAddress, verpSendId } from "../../src/mail/headers.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { ROOT } from "../support/cli.js";
import { baseFiles, removeDir, writeEventDir } from "../support/event-dir.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function load(campaign: string) {
  const dir = writeEventDir(baseFiles(campaign));
  dirs.push(dir);
  return loadEventOrThrow(dir, KINDS);
}

const step = (id: string, rsvp: string, items = "") => `  - id: ${id}
    kind: invitation-letter
    audience: members
    trigger: { at: "2017-05-15 09:00" }
    when: { rsvp: ${rsvp}${items} }
`;

describe("when: { rsvp }", () => {
  const def = load(
    `steps:\n${step("none", "none")}${step("declined", "declined")}${step("open", "not-declined")}${step("day2", "none", ", rsvpItems: [day-2]")}`,
  );
  const answers = [
    { item: "day-1", email: "a@district-a.test", partstat: "ACCEPTED" },
    { item: "day-1", email: "a2@district-a.test", partstat: "DECLINED" },
    { item: "day-2", email: "b@district-b.test", partstat: "TENTATIVE" },
  ];
  const who = (stepId: string) =>
    plan(def, def.registrations, "2030-01-01T00:00:00Z", answers)
      .filter((s) => s.step === stepId)
      .map((s) => s.recipient)
      .sort();

  it("plans each step only for the invitees whose answers meet it", () => {
    expect(who("none")).toEqual(["b2@district-b.test"]);
    expect(who("declined")).toEqual(["a2@district-a.test"]);
    expect(who("open")).toEqual(["a@district-a.test", "b2@district-b.test", "b@district-b.test"]);
    expect(who("day2")).toEqual(["a2@district-a.test", "a@district-a.test", "b2@district-b.test"]);
  });

  it("without answers, `none` is everyone and `declined` nobody", () => {
    const sends = plan(def, def.registrations, "2030-01-01T00:00:00Z");
    expect(sends.filter((s) => s.step === "none")).toHaveLength(4);
    expect(sends.filter((s) => s.step === "declined")).toHaveLength(0);
  });

  it("is refused with its file and line when misspelt", () => {
    expect(() => load(`steps:\n${step("x", "maybe")}`)).toThrow(/campaign\.yaml:\d+/);
  });
});

describe("VERP envelope", () => {
  const seed = loadEventOrThrow(join(ROOT, "test", "fixtures", "mail", "seed-letter"), KINDS);
  const send = plan(seed, seed.registrations, DateTime.fromISO("2017-07-01T00:00:00Z"))[0];

  it("with BOUNCE_ADDRESS the envelope sender names the send; From and Reply-To do not change", async () => {
    if (!send) throw new Error("no send");
    const plain = await composeMessage(seed, send, { config: loadConfig({}) });
    const verp = await composeMessage(seed, send, {
      config: loadConfig({ BOUNCE_ADDRESS: "bounces@lmi.test" }),
    });
    expect(plain.envelope).toBeUndefined();
    const secret = loadConfig({}).unsubscribeSecret;
    expect(verp.envelope).toEqual({
      from: verpAddress("bounces@lmi.test", send.id, secret),
      to: send.recipient,
    });
    expect(verpSendId(String(verp.envelope?.from), "bounces@lmi.test", secret)).toBe(send.id);
    expect(verp.from).toEqual(plain.from);
    expect(verp.replyTo).toEqual(plain.replyTo);
  });

  it("refuses a BOUNCE_ADDRESS that is not a plain address", () => {
    expect(() => loadConfig({ BOUNCE_ADDRESS: "bounces+x@lmi.test" })).toThrow(/BOUNCE_ADDRESS/);
    expect(() => loadConfig({ BOUNCE_ADDRESS: "nope" })).toThrow(/BOUNCE_ADDRESS/);
  });
});
