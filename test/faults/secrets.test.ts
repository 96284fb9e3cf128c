/**
 * Scenario 6: secrets. A worker at debug log level sends a letter and a bulk reminder (signed
 * one-click unsubscribe links) through a relay that first refuses AUTH, then answers 421, then
 * accepts; a second worker writes the same campaign to an outbox; `status`, `plan` and
 * `send-test` run against a wrong password, a closed port and an unparseable SMTP_URL. Then every
 * captured byte is grepped (process output, CLI output, relay records, outbox files) and the
 * relay checks every message it stored: neither the SMTP password nor the unsubscribe secret
 * may appear anywhere.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  Lab,
  ledgerOf,
  letterStep,
  nowMinute,
  people,
  reconcile,
  SMTP_PASS,
  SMTP_USER,
  sleep,
  UNSUBSCRIBE_SECRET,
  until,
  workerEnv,
  writeEvent,
} from "./harness.js";

const N = 20;
const lab = new Lab("secrets");
afterAll(async () => {
  await lab.close();
  lab.remove();
});

describe("scenario 6: secrets", () => {
  it("no log line, error, status output, outbox file or sent message holds the SMTP password or the unsubscribe secret", async () => {
    const redis = await lab.redis(6415);
    const relay = await lab.relay(6436);
    const at = nowMinute();
    const steps = [
      letterStep(at),
      {
        id: "reminder",
        kind: "deadline-reminder",
        audience: "people",
        subject: "Reminder",
        trigger: { at },
        missedWindow: "1h",
      },
    ];
    const ev = writeEvent(lab.events, "secrets", people(N), steps);
    const planned = (await lab.plan(ev.dir)).map((s) => s.id);
    expect(planned).toHaveLength(2 * N);
    const env = workerEnv(redis, "faults-secrets", relay.url, { CONVENE_LOG_LEVEL: "debug" });

    await relay.mode({ mode: "auth-535" });
    const halted = lab.worker("smtp-worker", [ev.dir, "--cron", "* * * * * *"], env);
    await sleep(3_000);
    // A 535 halts sending until a worker starts again (README): the operator's restart, as
    // documented, now into a server that asks to slow down, then accepts.
    await relay.mode({ mode: "421" });
    halted.child.kill("SIGTERM");
    await halted.exited;
    const w = lab.worker("smtp-worker-2", [ev.dir, "--cron", "* * * * * *"], env);
    await sleep(2_000);
    await relay.mode({ mode: "accept" });

    // The outbox: the same campaign, another prefix, no SMTP_URL.
    const outbox = join(lab.capture, "outbox");
    const oev = writeEvent(join(lab.base, "outbox-events"), "secrets", people(N), steps);
    const oenv = { ...workerEnv(redis, "faults-secrets-outbox", ""), OUTBOX_DIR: outbox };
    const ow = lab.worker("outbox-worker", [oev.dir, "--cron", "* * * * * *"], oenv);

    await until(
      "every send sent, and the outbox full",
      async () =>
        (await ledgerOf(redis.url, "faults-secrets", "secrets")).filter((x) => x.state === "sent")
          .length ===
          2 * N && readdirSync(outbox).filter((f) => f.endsWith(".eml")).length >= 2 * N,
      90_000,
      1_000,
    ).catch(() => undefined);
    // CLI commands that print errors with the URL at hand; after the campaign, since a 535
    // would halt the running worker too.
    const wrongPass = relay.url.replace(SMTP_PASS, `${SMTP_PASS}-wrong`);
    await relay.mode({ mode: "auth-535" });
    const st1 = await lab.cli(["send-test", ev.dir, "--step", "letter", "--to", "me@faults.test"], {
      ...env,
      SMTP_URL: wrongPass,
    });
    await relay.mode({ mode: "accept" });
    const st2 = await lab.cli(
      ["send-test", ev.dir, "--step", "reminder", "--to", "me@faults.test"],
      {
        ...env,
        SMTP_URL: `smtp://${SMTP_USER}:${SMTP_PASS}@127.0.0.1:6439`,
      },
    );
    const bad = await lab.cli(
      ["worker", ev.dir],
      {
        ...env,
        SMTP_URL: `smtp://${SMTP_USER}:${SMTP_PASS}@127.0.0.1:notaport`,
        REDIS_URL: `redis://:${SMTP_PASS}@127.0.0.1:6415`,
      },
      20_000,
    );
    expect(st1.code).not.toBe(0);
    expect(st2.code).not.toBe(0);
    expect(bad.code).not.toBe(0);

    await lab.cli(["status", ev.dir, "--failures"], env);
    const st = await lab.status(ev.dir, env);
    w.child.kill("SIGTERM");
    ow.child.kill("SIGTERM");
    await Promise.all([w.exited, ow.exited]);

    const received = relay.received();
    const r = reconcile({
      scenario: "6 secrets (2 steps x 20 rcpt, + outbox)",
      planned,
      received,
      marked: Lab.marked(st),
      started: lab.started,
      note: `${lab.capturedFiles().length} files grepped, ${received.leaks} leaks in messages`,
    });
    expect(r.lostIds).toEqual([]);
    expect(readdirSync(outbox).filter((f) => f.endsWith(".eml")).length).toBe(2 * N);
    // The relay saw the real password in AUTH (it must), and no message carried either secret.
    expect(received.auths).toBeGreaterThan(0);
    expect(received.leaks).toBe(0);
    expect(lab.leaks()).toEqual([]);
    // The grep itself works: a planted secret is found.
    const plant = join(lab.base, "plant");
    mkdirSync(plant);
    writeFileSync(join(plant, "x.log"), `oops ${UNSUBSCRIBE_SECRET}\n`);
    expect(lab.leaks([plant])).toEqual([join(plant, "x.log")]);
    // The unsubscribe links were signed (the secret was used, not printed).
    expect(UNSUBSCRIBE_SECRET.length).toBeGreaterThanOrEqual(32);
  });
});
