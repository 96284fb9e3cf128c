/**
 * The Redis the benchmark measures against: the one at REDIS_URL (shared, so its command counts
 * include other clients), or with `--own-redis <port>` a private redis-server started here, with
 * no persistence, whose counts are the benchmark's alone. Only keys under the run's prefixes are
 * ever deleted (SCAN + UNLINK); nothing is flushed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

export interface BenchRedis {
  url: string;
  /** True when other clients may be using this server too. */
  shared: boolean;
  client: Redis;
  stop(): Promise<void>;
}

export async function sharedRedis(url: string): Promise<BenchRedis> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  await client.ping();
  return { url, shared: true, client, stop: async () => void client.disconnect() };
}

/** True when something already listens on the port: never measure (or stop) someone else's server. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export async function ownRedis(port: number): Promise<BenchRedis> {
  if (await portTaken(port))
    throw new Error(`port ${port} is taken; pick another with --own-redis <port>`);
  const dir = mkdtempSync(join(tmpdir(), "convene-bench-redis-"));
  const server = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    { stdio: "ignore" },
  );
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, {
    maxRetriesPerRequest: 1,
    retryStrategy: (n) => (n > 50 ? null : 100),
  });
  // Until redis-server listens, connecting fails and is retried; those errors are expected.
  const quiet = () => undefined;
  client.on("error", quiet);
  await client.ping();
  client.off("error", quiet);
  return { url, shared: false, client, stop: () => stopServer(server, client, dir) };
}

async function stopServer(server: ChildProcess, client: Redis, dir: string): Promise<void> {
  client.disconnect();
  const exited = new Promise((r) => server.once("exit", r));
  server.kill("SIGTERM");
  await exited;
  rmSync(dir, { recursive: true, force: true });
}

export async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  const stream = client.scanStream({ match: `${prefix}:*`, count: 1000 });
  for await (const batch of stream as AsyncIterable<string[]>)
    if (batch.length) await client.unlink(...batch);
}

/** Calls per command the server has run so far, all clients together, leaving out INFO. */
export async function commandCalls(client: Redis): Promise<Map<string, number>> {
  const info = await client.info("commandstats");
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    if (m[1] !== "info") calls.set(m[1] as string, Number(m[2]));
  return calls;
}

/** Per send, by command, from `before` to `after`: the largest first. */
export function commandsPerSend(
  before: Map<string, number>,
  after: Map<string, number>,
  n: number,
): [string, number][] {
  return [...after]
    .map(([cmd, calls]): [string, number] => [cmd, (calls - (before.get(cmd) ?? 0)) / n])
    .filter(([, perSend]) => perSend > 0)
    .sort((a, b) => b[1] - a[1]);
}

/** Bytes held by the keys under `prefix` (MEMORY USAGE, exact), keys matching `except` left out. */
export async function prefixBytes(client: Redis, prefix: string, except?: RegExp): Promise<number> {
  let total = 0;
  const stream = client.scanStream({ match: `${prefix}:*`, count: 1000 });
  for await (const batch of stream as AsyncIterable<string[]>)
    for (const key of batch) {
      if (except?.test(key)) continue;
      total += Number((await client.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0);
    }
  return total;
}
