/**
 * The IMAP side of `convene inbound` under a misbehaving server, against a real Dovecot: a
 * renumbered folder (new UIDVALIDITY), a server that crashes and comes back while the loop
 * watches, a folder that does not exist.
 */
import type { ImapFlow } from "imapflow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadInboundEvents, startInbound } from "../../src/cli/inbound.js";
import type { Config } from "../../src/config.js";
import { unsubscribeToken } from "../../src/mail/unsubscribe.js";
import { createStores } from "../../src/store/index.js";
import { createLogger } from "../../src/worker/logger.js";
import { runCli } from "../support/cli.js";
import {
  deletePrefix,
  MINI,
  REDIS_URL,
  testConfig,
  testHooks,
  uniquePrefix,
  until,
} from "../worker/fixture.js";
import { type Dovecot, startDovecot } from "./dovecot.js";
import { sample } from "./samples.js";

const hooks = testHooks();
const SECRET = process.env.UNSUBSCRIBE_SECRET as string;
const ORGANIZER = "org@mini.test";
const silent = createLogger({ level: "silent", pretty: false });

let dovecot: Dovecot;
beforeAll(async () => {
  dovecot = await startDovecot();
}, 30_000);
afterAll(async () => {
  await dovecot?.stop();
});

const unsubscribe = (who: string, id: string) =>
  sample("unsubscribe-mailto.eml", {
    ATTENDEE: who,
    ORGANIZER,
    MSGID: id,
    TOKEN: unsubscribeToken(who, SECRET),
  });

function setup(folderName: string) {
  const prefix = uniquePrefix();
  hooks.cleanups.push(() => deletePrefix(prefix));
  const url = `${dovecot.url.replace(/\/INBOX$/, "")}/${folderName}`;
  const config: Config = {
    ...testConfig(prefix, "smtp://127.0.0.1:1"),
    imapUrl: url,
    unsubscribeSecret: SECRET,
  };
  const events = loadInboundEvents([MINI], KINDS);
  const start = (opts: { once?: boolean; mark?: "move" | "flag"; poll?: number }) =>
    startInbound({ config, events, redis: hooks.redis, log: silent, opts });
  return { prefix, url, stores: createStores(hooks.redis, prefix), start };
}

async function uidValidity(c: ImapFlow, path: string): Promise<string> {
  const st = await c.status(path, { uidValidity: true });
  if (!st) throw new Error(`no STATUS for ${path}`);
  return String(st.uidValidity);
}

describe("convene inbound and the IMAP server", () => {
  it("a renumbered folder (new UIDVALIDITY) is read from the start, without applying a message twice", async () => {
    const { stores, start } = setup("Renumber");
    const c = await dovecot.imap();
    hooks.cleanups.push(() => c.logout());
    await c.mailboxCreate("Renumber");
    const first = unsubscribe("renumber-a@people.test", "renumber-a");
    await c.append("Renumber", first);
    // Flagged, not moved: the message stays in the folder it was read in.
    await start({ once: true, mark: "flag" }).done;
    expect(await stores.suppressions.get("renumber-a@people.test")).toBeDefined();
    // The organizer lifts the suppression: a re-read of the old message must not undo that.
    await stores.suppressions.remove("renumber-a@people.test");

    // The folder comes back renumbered (a restore): same message, new UIDVALIDITY, UID 1 again.
    const before = await uidValidity(c, "Renumber");
    await until("a new UIDVALIDITY", async () => {
      await c.mailboxDelete("Renumber");
      await c.mailboxCreate("Renumber");
      return (await uidValidity(c, "Renumber")) !== before;
    });
    await c.append("Renumber", first);
    await c.append("Renumber", unsubscribe("renumber-b@people.test", "renumber-b"));
    await start({ once: true, mark: "flag" }).done;

    expect(await stores.suppressions.get("renumber-a@people.test")).toBeUndefined();
    // Not skipped: the new message at a UID the old numbering had already passed is read.
    expect(await stores.suppressions.get("renumber-b@people.test")).toBeDefined();
  }, 60_000);

  it("recovers by itself when the server is killed and comes back while the loop watches", async () => {
    const { stores, start } = setup("Restart");
    const c0 = await dovecot.imap();
    await c0.mailboxCreate("Restart");
    await c0.logout();
    const running = start({ poll: 1_000 });
    hooks.cleanups.push(() => running.close());
    const add = async (who: string) => {
      const c = await dovecot.imap();
      try {
        await c.append("Restart", unsubscribe(who, who.split("@")[0] as string));
      } finally {
        await c.logout();
      }
    };
    await add("restart-a@people.test");
    await until(
      "the first message is handled",
      async () => !!(await stores.suppressions.get("restart-a@people.test")),
      30_000,
    );
    await dovecot.restart();
    await add("restart-b@people.test");
    await until(
      "the message after the restart is handled",
      async () => !!(await stores.suppressions.get("restart-b@people.test")),
      40_000,
    );
    await running.close();
  }, 90_000);

  it("a folder that does not exist ends --once with one line naming it, no password", () => {
    const prefix = uniquePrefix();
    hooks.cleanups.push(() => deletePrefix(prefix));
    const url = `${dovecot.url.replace(/\/INBOX$/, "")}/No-Such-Folder`;
    const r = runCli(["inbound", MINI, "--once"], {
      IMAP_URL: url,
      CONVENE_PREFIX: prefix,
      REDIS_URL,
      UNSUBSCRIBE_SECRET: SECRET,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^convene: could not read the mailbox .*No-Such-Folder/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).not.toContain(dovecot.pass);
  });
});
