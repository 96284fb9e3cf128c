/**
 * A real Redis Cluster on loopback for the cluster suite (`npm run test:cluster`): three masters
 * and three replicas, each its own `redis-server --cluster-enabled yes` process with its own port
 * and directory under a temp folder, joined with `redis-cli --cluster create … --cluster-replicas
 * 1`. `stop()` kills exactly the processes it started and removes the folder.
 *
 * cluster-node-timeout is 2 s, so a killed master is found failed and its replica promoted within
 * seconds (the failover test); `--save "" --appendonly no`: nothing here needs to survive.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll } from "vitest";
import { connectRedis, type Redis } from "../../src/store/redis.js";

const run = promisify(execFile);

/** The server binary: REDIS_SERVER (e.g. valkey-server) or redis-server from the PATH. */
const SERVER = process.env.REDIS_SERVER || "redis-server";
const CLI = process.env.REDIS_CLI || "redis-cli";

export interface ClusterNode {
  port: number;
  id: string;
  role: "master" | "replica";
  /** For a replica, its master's id. */
  masterId?: string;
  slots: [number, number][];
  failed: boolean;
}

export interface RedisClusterLab {
  /** REDIS_URL naming the cluster by all of its nodes. */
  url: string;
  ports: number[];
  cli(port: number, ...args: string[]): Promise<string>;
  /** The cluster's view of its nodes, as one live node sees it. */
  nodes(): Promise<ClusterNode[]>;
  /** The live node serving `slot` as master. */
  masterOf(slot: number): Promise<ClusterNode>;
  /** SIGKILL one node (a crashed master, for failover). */
  kill(port: number): void;
  /** Waits until every live node reports cluster_state:ok and agrees on who serves every slot. */
  waitOk(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** Six ports in a row whose cluster bus ports (port + 10000) are free too. */
export async function freePorts(n: number): Promise<number[]> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 30_000 + Math.floor(Math.random() * 9_000);
    const ports = Array.from({ length: n }, (_, i) => base + i);
    const all = await Promise.all(ports.flatMap((p) => [portFree(p), portFree(p + 10_000)]));
    if (all.every(Boolean)) return ports;
  }
  throw new Error("no free run of ports for the test cluster");
}

async function poll(what: string, cond: () => Promise<boolean>, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`test cluster: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function parseNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [id = "", addr = "", flags = "", master = "", , , , , ...slots] = line.split(" ");
      const port = Number(addr.split("@")[0]?.split(":")[1]);
      return {
        id,
        port,
        role: flags.includes("master") ? "master" : "replica",
        ...(master !== "-" ? { masterId: master } : {}),
        failed: flags.split(",").includes("fail"),
        slots: slots
          .filter((s) => !s.startsWith("["))
          .map((s) => {
            const [a, b] = s.split("-");
            return [Number(a), Number(b ?? a)] as [number, number];
          }),
      } satisfies ClusterNode;
    });
}

export async function startCluster(): Promise<RedisClusterLab> {
  const root = mkdtempSync(join(tmpdir(), "convene-cluster-"));
  const ports = await freePorts(6);
  const procs = new Map<number, ChildProcess>();
  for (const port of ports) {
    const dir = join(root, String(port));
    mkdirSync(dir, { recursive: true });
    const child = spawn(
      SERVER,
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `nodes-${port}.conf`,
        "--cluster-node-timeout",
        "2000",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      { stdio: "ignore" },
    );
    procs.set(port, child);
  }
  const cli = async (port: number, ...args: string[]) =>
    (await run(CLI, ["-p", String(port), ...args], { encoding: "utf8" })).stdout;
  const killed = new Set<number>();
  const live = () => ports.filter((p) => procs.get(p)?.exitCode === null && !killed.has(p));
  const lab: RedisClusterLab = {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`,
    ports,
    cli,
    async nodes() {
      const [p] = live();
      return parseNodes(await cli(p as number, "CLUSTER", "NODES"));
    },
    async masterOf(slot) {
      const n = (await lab.nodes()).find(
        (x) =>
          x.role === "master" &&
          !killed.has(x.port) &&
          x.slots.some(([a, b]) => slot >= a && slot <= b),
      );
      if (!n) throw new Error(`no live master serves slot ${slot}`);
      return n;
    },
    kill(port) {
      killed.add(port);
      procs.get(port)?.kill("SIGKILL");
    },
    async waitOk(timeoutMs = 30_000) {
      await poll(
        "cluster_state:ok on every live node",
        async () => {
          for (const p of live())
            if (!/cluster_state:ok/.test(await cli(p, "CLUSTER", "INFO"))) return false;
          // Every slot served by a live master, in every live node's view.
          for (const p of live()) {
            const nodes = parseNodes(await cli(p, "CLUSTER", "NODES"));
            const served = nodes
              .filter((n) => n.role === "master" && !killed.has(n.port))
              .flatMap((n) => n.slots)
              .reduce((s, [a, b]) => s + (b - a + 1), 0);
            if (served !== 16_384) return false;
          }
          return true;
        },
        timeoutMs,
      );
    },
    async stop() {
      for (const [port, child] of procs)
        if (child.exitCode === null && !killed.has(port)) child.kill("SIGKILL");
      await Promise.all(
        [...procs.values()].map(
          (c) =>
            new Promise<void>((r) =>
              c.exitCode !== null || c.signalCode ? r() : c.once("exit", () => r()),
            ),
        ),
      );
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await poll(
      "every node to answer PING",
      async () => {
        for (const p of ports) if (!/PONG/.test(await cli(p, "PING"))) return false;
        return true;
      },
      20_000,
    );
    await run(CLI, [
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      "1",
      "--cluster-yes",
    ]);
    await lab.waitOk();
    // Replicas in sync, so that a failover has the data to take over.
    await poll(
      "every replica to be in sync",
      async () => {
        const reps = (await lab.nodes()).filter((n) => n.role === "replica");
        if (reps.length !== 3) return false;
        for (const r of reps)
          if (!/master_link_status:up/.test(await cli(r.port, "INFO", "replication"))) return false;
        return true;
      },
      30_000,
    );
  } catch (e) {
    await lab.stop();
    throw e;
  }
  return lab;
}

/**
 * Starts the cluster before the file's tests and stops it after. Inside tests: `get()` the lab,
 * `redis()` a cluster client for assertions (convene's own connectRedis).
 */
export function clusterHooks(): { get(): RedisClusterLab; redis(): Redis } {
  let lab: RedisClusterLab | undefined;
  let client: Redis | undefined;
  beforeAll(async () => {
    lab = await startCluster();
  }, 90_000);
  afterAll(async () => {
    client?.disconnect();
    await lab?.stop();
  }, 30_000);
  const get = () => {
    if (!lab) throw new Error("the test cluster is not running");
    return lab;
  };
  return {
    get,
    redis() {
      client ??= connectRedis(get().url, "worker");
      return client;
    },
  };
}

/** CLUSTER KEYSLOT, computed by the server. */
export async function keySlot(lab: RedisClusterLab, key: string): Promise<number> {
  const [p] = lab.ports;
  return Number((await lab.cli(p as number, "CLUSTER", "KEYSLOT", key)).trim());
}
