/**
 * A private Redis for the first ten minutes: when `REDIS_URL` is unset and nothing answers at
 * the default address, convene starts `redis-server` from the PATH on a port of its own, with
 * its data (AOF on) under `.convene/redis/` in the current directory.
 *
 * Why a shared registry instead of one server per process: an organizer runs `worker` in one
 * terminal and `status` or `register` in another; they must see the same ledger. So the first
 * process starts the server and writes `server.json` (pid, port); the others find it there. Each
 * process that uses it leaves its pid in `clients/`; the one that exits last (after dropping
 * pids that are no longer alive) stops the server. Every decision about the registry is taken
 * under `lock`, created with O_EXCL, so two processes never both start a server or both miss
 * that one is still in use.
 *
 * Why stopping is synchronous: it runs from the process's `exit` event (the worker ends with
 * process.exit), where nothing asynchronous runs any more. SIGTERM makes redis-server do what
 * SHUTDOWN does: flush the AOF and exit, so the data stays for the next command.
 *
 * What stays after the last process: only `data/` (registrations, suppressions, the ledger
 * survive from one command to the next) and `redis.log`. The pid, port and lock files go.
 */
import { spawnSync } from "node:child_process";
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { connect, createServer } from "node:net";
import { delimiter, join, relative, resolve } from "node:path";

/** Where the private server keeps its files, relative to the directory convene runs in. */
export const STATE_DIR = join(".convene", "redis");

const LOCK_TIMEOUT_MS = 20_000;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/** No Redis to use and none to start: the message is the whole explanation, no stack. */
export class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
}

export function missingRedisMessage(defaultUrl: string): string {
  const where = new URL(defaultUrl).host;
  return [
    `this command needs Redis, and there is none: REDIS_URL is not set, nothing answers on ${where},`,
    "and there is no redis-server program on the PATH for convene to start a private one.",
    "Install Redis (Debian/Ubuntu: apt install redis-server; macOS: brew install redis), or use",
    "Docker: docker compose up -d redis runs the Redis of convene's compose services, and",
    "docker run -d -p 127.0.0.1:6379:6379 redis:7-alpine --appendonly yes one for this shell.",
    "Or set REDIS_URL to a Redis you run.",
    "convene plan, validate, preview and calendar work without Redis.",
  ].join("\n");
}

interface ServerFile {
  pid: number;
  port: number;
  url: string;
}

interface Paths {
  dir: string;
  server: string;
  lock: string;
  clients: string;
  data: string;
  pidfile: string;
  log: string;
}

function pathsOf(dir: string): Paths {
  return {
    dir,
    server: join(dir, "server.json"),
    lock: join(dir, "lock"),
    clients: join(dir, "clients"),
    data: join(dir, "data"),
    pidfile: join(dir, "redis.pid"),
    log: join(dir, "redis.log"),
  };
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A zombie still answers kill(0), so on Linux its state in /proc decides. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return true;
  }
}

/** Guards against a recycled pid: never signal a process that is not a redis-server. */
function isRedisProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("redis-server");
  } catch {
    // No /proc (macOS): the pid came from redis-server's own pidfile; trust it.
    return !existsSync("/proc");
  }
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function tryLock(p: Paths): boolean {
  try {
    const fd = openSync(p.lock, "wx");
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return false;
  }
}

/** A lock whose holder died is taken over; renaming first means only one waiter removes it. */
function breakStaleLock(p: Paths): void {
  let holder: number;
  try {
    holder = Number(readFileSync(p.lock, "utf8"));
  } catch {
    return;
  }
  // An empty file is a holder between open and write; give it a moment before calling it dead.
  const age = Date.now() - (statSync(p.lock, { throwIfNoEntry: false })?.mtimeMs ?? 0);
  if (!holder && age < 2_000) return;
  if (holder && isAlive(holder)) return;
  const aside = `${p.lock}.stale-${process.pid}`;
  try {
    renameSync(p.lock, aside);
    unlinkSync(aside);
  } catch {
    // Another waiter took it over first.
  }
}

function lockTimeout(p: Paths): Error {
  return new Error(
    `another convene process has held ${displayPath(p.lock)} for ${LOCK_TIMEOUT_MS / 1000} s; if none is running, delete that file`,
  );
}

function unlock(p: Paths): void {
  rmSync(p.lock, { force: true });
}

async function withLock<T>(p: Paths, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  while (!tryLock(p)) {
    breakStaleLock(p);
    if (Date.now() - start > LOCK_TIMEOUT_MS) throw lockTimeout(p);
    await sleep(50);
  }
  try {
    return await fn();
  } finally {
    unlock(p);
  }
}

function withLockSync<T>(p: Paths, fn: () => T): T {
  const start = Date.now();
  while (!tryLock(p)) {
    breakStaleLock(p);
    if (Date.now() - start > LOCK_TIMEOUT_MS) throw lockTimeout(p);
    sleepSync(50);
  }
  try {
    return fn();
  } finally {
    unlock(p);
  }
}

/** True when a Redis answers PING (or refuses it for want of a password: still a Redis). */
export function answersPing(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once("error", () => finish(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (b) => finish(b[0] === 0x2b || b[0] === 0x2d));
  });
}

export function findOnPath(name: string, pathVar = process.env.PATH ?? ""): string | undefined {
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => done(port));
    });
  });
}

function displayPath(p: string): string {
  return relative(process.cwd(), p) || p;
}

function liveClients(p: Paths): number[] {
  mkdirSync(p.clients, { recursive: true });
  const live: number[] = [];
  for (const name of readdirSync(p.clients)) {
    const pid = Number(name);
    if (isAlive(pid)) live.push(pid);
    else rmSync(join(p.clients, name), { force: true });
  }
  return live;
}

function logTail(p: Paths): string {
  try {
    const lines = readFileSync(p.log, "utf8").trimEnd().split("\n");
    return lines.slice(-3).join(" | ");
  } catch {
    return "no log written";
  }
}

async function startServer(p: Paths, bin: string): Promise<ServerFile> {
  mkdirSync(p.data, { recursive: true });
  rmSync(p.pidfile, { force: true });
  const port = await freePort();
  // Daemonized, so the server is not this process's child: it outlives the process that
  // started it while others still use it, and never lingers as a zombie.
  const r = spawnSync(
    bin,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      resolve(p.data),
      "--appendonly",
      "yes",
      "--save",
      "",
      "--daemonize",
      "yes",
      "--pidfile",
      resolve(p.pidfile),
      "--logfile",
      resolve(p.log),
    ],
    { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8", timeout: START_TIMEOUT_MS },
  );
  if (r.error || r.status !== 0)
    throw new Error(
      `could not start ${bin}: ${r.error?.message ?? (r.stderr.trim() || `exit ${r.status}`)}`,
    );
  const start = Date.now();
  while (!(await answersPing("127.0.0.1", port))) {
    if (Date.now() - start > START_TIMEOUT_MS)
      throw new Error(`${bin} did not answer on port ${port}: ${logTail(p)}`);
    await sleep(50);
  }
  const pid = Number(readFileSync(p.pidfile, "utf8").trim());
  const server = { pid, port, url: `redis://127.0.0.1:${port}` };
  writeAtomic(p.server, `${JSON.stringify(server)}\n`);
  return server;
}

function stopServer(p: Paths, s: ServerFile): void {
  if (isAlive(s.pid) && isRedisProcess(s.pid)) {
    process.kill(s.pid, "SIGTERM");
    const start = Date.now();
    while (isAlive(s.pid) && Date.now() - start < STOP_TIMEOUT_MS) sleepSync(20);
  }
  for (const f of [p.server, p.pidfile]) rmSync(f, { force: true });
  rmSync(p.clients, { recursive: true, force: true });
}

let registered: { paths: Paths; released: boolean } | undefined;

/** Drops this process from the users; the last one stops the server. Safe to call twice. */
export function releaseEmbeddedRedis(): void {
  const r = registered;
  if (!r || r.released) return;
  r.released = true;
  try {
    withLockSync(r.paths, () => {
      rmSync(join(r.paths.clients, String(process.pid)), { force: true });
      if (liveClients(r.paths).length) return;
      const s = readJson<ServerFile>(r.paths.server);
      if (s) stopServer(r.paths, s);
    });
  } catch (e) {
    process.stderr.write(`convene: could not stop the private Redis: ${(e as Error).message}\n`);
  }
}

/**
 * A signal without a handler of the command's own would end the process without its `exit`
 * event; then this releases and ends the process as the signal would have. When the command
 * handles the signal itself (the worker's graceful stop), it ends with process.exit, and the
 * `exit` hook releases.
 */
function onSignal(signal: NodeJS.Signals): void {
  const handler = () => {
    if (process.listenerCount(signal) > 1) return;
    releaseEmbeddedRedis();
    process.removeListener(signal, handler);
    process.kill(process.pid, signal);
  };
  process.on(signal, handler);
}

function register(p: Paths): void {
  mkdirSync(p.clients, { recursive: true });
  writeFileSync(join(p.clients, String(process.pid)), "");
  if (registered) return;
  registered = { paths: p, released: false };
  process.once("exit", releaseEmbeddedRedis);
  for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) onSignal(s);
}

/**
 * The URL of the private server in `<cwd>/.convene/redis`, started if none runs there. `log`
 * gets one line saying where it is.
 */
export async function embeddedRedis(
  o: { cwd?: string; defaultUrl: string; log: (line: string) => void },
  pathVar = process.env.PATH,
): Promise<string> {
  const p = pathsOf(resolve(o.cwd ?? process.cwd(), STATE_DIR));
  // Checked before anything is created, so a failed first try leaves no .convene folder.
  if (!existsSync(p.server) && !findOnPath("redis-server", pathVar))
    throw new RedisUnavailableError(missingRedisMessage(o.defaultUrl));
  mkdirSync(p.dir, { recursive: true });
  const { server, started } = await withLock(p, async () => {
    const known = readJson<ServerFile>(p.server);
    if (known && isAlive(known.pid) && (await answersPing("127.0.0.1", known.port))) {
      register(p);
      return { server: known, started: false };
    }
    // A stale file: its server died or is no longer the one on that port. Nobody can be using
    // it, so its pid and client files go; its data stays.
    if (known) for (const f of [p.server, p.pidfile]) rmSync(f, { force: true });
    rmSync(p.clients, { recursive: true, force: true });
    const bin = findOnPath("redis-server", pathVar);
    if (!bin) throw new RedisUnavailableError(missingRedisMessage(o.defaultUrl));
    const fresh = await startServer(p, bin);
    register(p);
    return { server: fresh, started: true };
  });
  const shown = displayPath(p.dir);
  o.log(
    started
      ? `convene: REDIS_URL is unset and no Redis answers on ${new URL(o.defaultUrl).host}; started a private redis-server at ${server.url} (data in ${shown}/data, AOF on), stopped when the last convene process using it exits`
      : `convene: using the private redis-server at ${server.url} (${shown})`,
  );
  return server.url;
}
