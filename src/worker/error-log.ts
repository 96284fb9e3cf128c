/**
 * Redis errors as an operator should see them: a state change, once, not every retry.
 *
 * ioredis reports each failed reconnect and BullMQ each failed poll, several times a second for
 * as long as the trouble lasts; logged as they come they bury everything else. So:
 *  - connection errors are logged when Redis becomes unreachable and when it is reachable again;
 *  - replies that no retry can fix (a read-only replica, a cluster, missing or wrong
 *    credentials) are fatal: one line says what to change, and the process stops;
 *  - any other error is logged once per message and minute, with how often it recurred.
 */
import { redactUrl } from "../config.js";
import { isClusterUrl } from "../store/redis-url.js";
import type { Logger } from "./logger.js";

/** Reply prefixes that mean REDIS_URL points at the wrong server or lacks credentials. */
const FATAL_REPLIES: Record<string, (url: string) => string> = {
  READONLY: (u) => `Redis at ${u} is a read-only replica; point REDIS_URL at the master`,
  CROSSSLOT: (u) =>
    `Redis at ${u} is a cluster; name it as one: REDIS_URL=redis+cluster://host1:port,host2:port (or REDIS_CLUSTER=1)`,
  MOVED: (u) =>
    `Redis at ${u} is a cluster; name it as one: REDIS_URL=redis+cluster://host1:port,host2:port (or REDIS_CLUSTER=1)`,
  NOAUTH: (u) => `Redis at ${u} requires a password; put it in REDIS_URL (redis://:pass@host)`,
  WRONGPASS: (u) => `Redis at ${u} refused the user name or password in REDIS_URL`,
};

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);

/**
 * Replies that only mean "this is a cluster" when convene did not connect as to one. Through a
 * cluster client a MOVED reaches convene only inside ioredis's "Too many Cluster redirections"
 * (slots moving during a failover or resharding: it passes), and a CROSSSLOT is one command's
 * fault, not REDIS_URL's; telling the organizer to "name it as a cluster" and stopping would be
 * wrong on both counts.
 */
const NOT_A_CLUSTER_CLIENT = new Set(["CROSSSLOT", "MOVED"]);

/** What is wrong, in one line, when `err` is a reply no retry can fix; else undefined. */
export function fatalRedisReason(err: Error, url: string): string | undefined {
  // BullMQ may wrap a script's reply ("Error running script …: READONLY …"): look for the word.
  const m = /(?:^|: )(READONLY|CROSSSLOT|MOVED|NOAUTH|WRONGPASS)\b/.exec(err.message ?? "");
  const reply = m?.[1];
  if (!reply || (NOT_A_CLUSTER_CLIENT.has(reply) && namesCluster(url))) return undefined;
  return FATAL_REPLIES[reply]?.(redactUrl(url));
}

function namesCluster(url: string): boolean {
  try {
    return isClusterUrl(url);
  } catch {
    return false;
  }
}

export function isConnectionError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  if (code && CONNECTION_CODES.has(code)) return true;
  return /connect|Connection is closed|ECONNREFUSED|ENOTFOUND|ETIMEDOUT/i.test(err.message ?? "");
}

/** How long the same non-connection error stays quiet after it was logged. */
const REPEAT_MS = 60_000;

export interface RedisErrorLogOptions {
  url: string;
  log: Logger;
  /** Called once, with the line already logged, for an error no retry can fix. */
  onFatal: (reason: string) => void;
}

export class RedisErrorLog {
  private down = false;
  private fatal = false;
  private muted = false;
  private readonly seen = new Map<string, { at: number; repeats: number }>();

  constructor(private readonly o: RedisErrorLogOptions) {}

  /** After shutdown starts, errors from connections being closed say nothing new. */
  mute(): void {
    this.muted = true;
  }

  /** Whether the last word from Redis was a connection failure. */
  get unreachable(): boolean {
    return this.down;
  }

  error(err: Error, what: string): void {
    if (this.muted || this.fatal) return;
    const reason = fatalRedisReason(err, this.o.url);
    if (reason) this.onFatal(reason, err);
    else if (isConnectionError(err)) this.unreachableNow(err);
    else this.throttled(err, what);
  }

  /** A connection became ready: says so once after an outage. */
  ready(): void {
    if (!this.down) return;
    this.down = false;
    if (!this.muted) this.o.log.info({ redis: redactUrl(this.o.url) }, "Redis reachable again");
  }

  private onFatal(reason: string, err: Error): void {
    this.fatal = true;
    this.o.log.error({ reply: err.message }, reason);
    this.o.onFatal(reason);
  }

  private unreachableNow(err: Error): void {
    if (this.down) return;
    this.down = true;
    const url = redactUrl(this.o.url);
    this.o.log.error({ redis: url, err: err.message }, `Redis unreachable at ${url}, retrying`);
  }

  private throttled(err: Error, what: string): void {
    const key = `${what}: ${err.message}`;
    const now = Date.now();
    const last = this.seen.get(key);
    if (last && now - last.at < REPEAT_MS) {
      last.repeats++;
      return;
    }
    const repeats = last?.repeats ?? 0;
    this.seen.set(key, { at: now, repeats: 0 });
    this.o.log.error({ err: err.message, ...(repeats ? { repeats } : {}) }, what);
  }
}
