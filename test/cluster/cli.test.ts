/**
 * The commands an organizer runs, as child processes, against the cluster: `convene rehearse`
 * (which used to exit 1 with "Script attempted to access a non local key"), and `convene worker`
 * named by REDIS_CLUSTER=1 with one seed node, then `convene status` and a clean SIGTERM.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import {
  dueSoon,
  letterStep,
  people,
  spawnWorker,
  startSmtp,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "../worker/fixture.js";
import { clusterHooks } from "./harness.js";

const cluster = clusterHooks();
const hooks = testHooks();
const { cleanups, children } = hooks;

describe("the CLI on a cluster", () => {
  it("convene rehearse runs a past campaign on the cluster into the outbox", () => {
    const fx = writeEvent({
      people: people(9),
      steps: [
        {
          id: "letter",
          kind: "invitation-letter",
          audience: "people",
          trigger: { at: "2017-05-10 09:00" },
        },
      ],
      registrations: [{ team: "t1", at: DateTime.fromISO("2017-05-01T09:00Z") }],
    });
    const outbox = mkdtempSync(join(tmpdir(), "convene-cluster-outbox-"));
    cleanups.push(fx.cleanup, () => rmSync(outbox, { recursive: true, force: true }));
    const r = runCli(["rehearse", fx.dir], {
      REDIS_URL: cluster.get().url,
      CONVENE_PREFIX: uniquePrefix(),
      OUTBOX_DIR: outbox,
    });
    expect(r.stderr).not.toMatch(/non local key|CROSSSLOT|MOVED/);
    expect(r.status).toBe(0);
    const emls = readdirSync(join(outbox, "mini-rehearsal")).filter((f) => f.endsWith(".eml"));
    expect(emls).toHaveLength(9);
  });

  it("convene worker with REDIS_CLUSTER=1 and one seed node delivers; status reads the cluster; SIGTERM exits 0", async () => {
    const smtp = await startSmtp();
    const soon = dueSoon(6);
    const fx = writeEvent({
      people: people(5),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    cleanups.push(fx.cleanup, () => smtp.close());
    const prefix = uniquePrefix();
    const seed = `redis://127.0.0.1:${cluster.get().ports[2]}`;
    const child = spawnWorker(
      children,
      [fx.dir],
      { REDIS_URL: seed, REDIS_CLUSTER: "1", CONVENE_PREFIX: prefix, SMTP_URL: smtp.url },
      "pipe",
    );
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    await smtp.waitFor(5, 60_000);
    expect(new Set(smtp.received.map((r) => r.to)).size).toBe(5);
    await until(
      "status to show 5 sent",
      () => {
        const s = runCli(["status", fx.dir, "--json"], {
          REDIS_URL: cluster.get().url,
          CONVENE_PREFIX: prefix,
        });
        return s.status === 0 && /"sent":\s*5/.test(s.stdout);
      },
      30_000,
    );
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(out).not.toMatch(/CROSSSLOT|is a cluster/);
  });
});
