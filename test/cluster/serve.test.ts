/**
 * `convene worker --serve` on a Redis Cluster: the HTTP side reads what the worker wrote there.
 * On a cluster every event has its own queue and its keys live under the event's hash tag, so
 * /metrics, /healthz and the API must find them there and not under the single-Redis names.
 */
import { describe, expect, it } from "vitest";
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
import { clusterHooks, freePorts } from "./harness.js";

const cluster = clusterHooks();
const { cleanups, children } = testHooks();
const TOKEN = "cluster-admin-token-0123456789";

/** The value of one `convene_sends` series in a Prometheus text exposition. */
function sends(text: string, state: string): number {
  const line = text
    .split("\n")
    .find((l) => l.startsWith("convene_sends{") && l.includes(`state="${state}"`));
  return line ? Number(line.split(" ").at(-1)) : Number.NaN;
}

describe("worker --serve on a cluster", () => {
  it("/metrics, /healthz and /api/events report the sends the worker made on the cluster", async () => {
    const smtp = await startSmtp();
    const soon = dueSoon(6);
    const fx = writeEvent({
      people: people(4),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    cleanups.push(fx.cleanup, () => smtp.close());
    const [port] = await freePorts(1);
    const base = `http://127.0.0.1:${port}`;
    const child = spawnWorker(
      children,
      ["--serve", "--listen", `127.0.0.1:${port}`, fx.dir],
      {
        REDIS_URL: cluster.get().url,
        CONVENE_PREFIX: uniquePrefix(),
        SMTP_URL: smtp.url,
        CONVENE_ADMIN_TOKEN: TOKEN,
      },
      "pipe",
    );
    let out = "";
    for (const s of [child.stdout, child.stderr]) s?.on("data", (d: Buffer) => (out += d));
    await smtp.waitFor(4, 60_000);

    let metrics = "";
    await until(
      "/metrics to count 4 sent",
      async () => {
        const r = await fetch(`${base}/metrics`).catch(() => undefined);
        metrics = r?.ok ? await r.text() : "";
        return sends(metrics, "sent") === 4;
      },
      30_000,
    );
    expect(metrics).toMatch(/^convene_redis_up 1$/m);
    expect(metrics).toMatch(/^convene_queue_jobs\{state="delayed"\} \d+$/m);

    const health = await (await fetch(`${base}/healthz`)).json();
    expect(health).toMatchObject({ redis: "ok", scheduler: "ok" });

    const api = await fetch(`${base}/api/events`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { events: { steps: { states: { sent: number } }[] }[] };
    expect(body.events[0]?.steps[0]?.states.sent).toBe(4);

    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(out).not.toMatch(/CROSSSLOT|non local key|name the event/);
  });
});
