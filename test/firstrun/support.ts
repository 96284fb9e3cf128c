import { type ChildProcess, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect } from "vitest";
import { answersPing } from "../../src/store/embedded.js";
import { ROOT } from "../support/cli.js";

/** The CLI as installed (`npm run build` first; `npm test` builds before Vitest runs). */
export const BUILT_CLI = join(ROOT, "dist", "src", "cli.js");

export function requireBuild(): void {
  if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run npm run build first`);
}

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Spawned {
  child: ChildProcess;
  done: Promise<Run>;
  stderr: () => string;
  stdout: () => string;
}

/** Starts the built CLI as an organizer would (`node dist/src/cli.js …`) in `cwd`. */
export function spawnCli(
  args: string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Spawned {
  const child = spawn(process.execPath, [BUILT_CLI, ...args], {
    cwd: o.cwd,
    env: o.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString("utf8");
  });
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString("utf8");
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 120_000);
  const done = new Promise<Run>((resolve) =>
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout: out, stderr: err });
    }),
  );
  return { child, done, stderr: () => err, stdout: () => out };
}

export function runCliBuilt(
  args: string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Run> {
  return spawnCli(args, o).done;
}

/** A scratch folder holding a copy of the bundled example, as a newcomer's checkout would. */
export function scratchWithExample(): string {
  const dir = mkdtempSync(join(tmpdir(), "convene-firstrun-"));
  cpSync(join(ROOT, "events", "ca-lmi-2017"), join(dir, "events", "ca-lmi-2017"), {
    recursive: true,
  });
  return dir;
}

/**
 * A PATH with only node and, when asked, redis-server: what a newcomer's machine has, or lacks.
 */
export function pathWith(dir: string, o: { redisServer: boolean }): string {
  const bin = join(dir, ".bin");
  mkdirSync(bin, { recursive: true });
  symlinkSync(process.execPath, join(bin, "node"));
  if (o.redisServer) symlinkSync("/usr/bin/redis-server", join(bin, "redis-server"));
  return bin;
}

/** The environment with REDIS_URL unset and the default address pointed at a closed port. */
export function envWithoutRedis(path: string, closedPort: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: path };
  delete env.REDIS_URL;
  delete env.OUTBOX_DIR;
  delete env.SMTP_URL;
  env.CONVENE_DEFAULT_REDIS = `redis://127.0.0.1:${closedPort}`;
  env.CONVENE_PREFIX = "convene";
  return env;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export const nodeBinDir = dirname(process.execPath);

/** Nothing listens here: it stands in for a machine where 127.0.0.1:6379 has no Redis. */
export const CLOSED_PORT = 6478;
export const STARTED = /started a private redis-server at redis:\/\/127\.0\.0\.1:(\d+)/;

/** What a finished last process leaves: the data (AOF) and the log, no pid, port or lock file. */
export async function expectCleanedUp(dir: string, port: number): Promise<void> {
  const state = join(dir, ".convene", "redis");
  expect(readdirSync(state).sort()).toEqual(["data", "redis.log"]);
  expect(readdirSync(join(state, "data"))).toContain("appendonlydir");
  expect(await answersPing("127.0.0.1", port)).toBe(false);
}
