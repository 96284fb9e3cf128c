/**
 * Which Redis replies stop a worker with one line (error-log.ts). A reply that says "this
 * server is a cluster" is the organizer's REDIS_URL to fix only when convene did not connect as
 * to a cluster; through a cluster client the same words mean something passing, or one command.
 */
import { ReplyError } from "ioredis";
import { describe, expect, it } from "vitest";
import { fatalRedisReason } from "../../src/worker/error-log.js";

const single = "redis://127.0.0.1:6379";
const cluster = "redis+cluster://127.0.0.1:7000,127.0.0.1:7001";
// How ioredis's cluster client reports a slot that kept moving (cluster/index.js handleError).
const redirections = new Error(
  `Too many Cluster redirections. Last error: ${new ReplyError("MOVED 866 127.0.0.1:7002")}`,
);
const crossSlot = new ReplyError(
  "CROSSSLOT Keys in request don't hash to the same slot",
) as unknown as Error;

describe("fatal Redis replies", () => {
  it("on one Redis, MOVED and CROSSSLOT mean REDIS_URL names a cluster node: fatal, saying how to name it", () => {
    expect(
      fatalRedisReason(new ReplyError("MOVED 866 127.0.0.1:7002") as unknown as Error, single),
    ).toMatch(/is a cluster; name it as one: REDIS_URL=redis\+cluster:/);
    expect(fatalRedisReason(crossSlot, single)).toMatch(/name it as one/);
  });

  it("through a cluster client, too many redirections and a CROSSSLOT are not fatal", () => {
    expect(fatalRedisReason(redirections, cluster)).toBeUndefined();
    expect(fatalRedisReason(crossSlot, cluster)).toBeUndefined();
    expect(fatalRedisReason(redirections, single)).toMatch(/name it as one/);
  });

  it("credentials stay fatal on a cluster, and their message never shows the password", () => {
    const r = fatalRedisReason(
      new ReplyError("WRONGPASS invalid username-password pair") as unknown as Error,
      "redis+cluster://app:hunter2@127.0.0.1:7000",
    );
    expect(r).toMatch(/refused the user name or password/);
    expect(r).not.toContain("hunter2");
  });
});
