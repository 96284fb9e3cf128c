/**
 * How a REDIS_URL names its Redis: one server, or a cluster by some of its nodes. Pure (no
 * ioredis), so that loadConfig can refuse a setting that cannot work on a cluster before any
 * command connects (config.ts), and commands that never touch Redis do not load a client.
 */

/** Where a REDIS_URL points: one server, or the seed nodes of a cluster. */
export type RedisTarget =
  | { kind: "single"; url: string }
  | {
      kind: "cluster";
      nodes: { host: string; port: number }[];
      username?: string;
      password?: string;
      tls: boolean;
    };

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)/i;

/**
 * `redis+cluster://[user:pass@]host1:port1,host2:port2` (or `rediss+cluster://` for TLS) names a
 * cluster by some of its nodes; so does any `redis://host:port` when `REDIS_CLUSTER=1` (the form a
 * managed service's single "configuration endpoint" fits). Anything else is one server.
 */
export function redisTarget(url: string, env: NodeJS.ProcessEnv = process.env): RedisTarget {
  const m = CLUSTER_URL.exec(url);
  if (m) return clusterTarget(m[1]?.toLowerCase() === "rediss", m[2], m[3] ?? "");
  if (env.REDIS_CLUSTER === "1" || env.REDIS_CLUSTER === "true") {
    const u = new URL(url);
    const auth = u.username || u.password ? `${u.username}:${u.password}` : undefined;
    return clusterTarget(u.protocol === "rediss:", auth, u.host || "127.0.0.1:6379");
  }
  return { kind: "single", url };
}

function clusterTarget(tls: boolean, auth: string | undefined, hosts: string): RedisTarget {
  const nodes = hosts.split(",").map((h) => {
    const at = h.lastIndexOf(":");
    const host = at > 0 ? h.slice(0, at) : h;
    const port = at > 0 ? Number(h.slice(at + 1)) : 6379;
    if (!host || !Number.isInteger(port) || port <= 0)
      throw new Error(`REDIS_URL: "${h}" is not host:port (redis+cluster://host1:port,host2:port)`);
    return { host: host.replace(/^\[|\]$/g, ""), port };
  });
  const [user, pass] = auth ? splitAuth(auth) : [undefined, undefined];
  return {
    kind: "cluster",
    nodes,
    tls,
    ...(user ? { username: user } : {}),
    ...(pass ? { password: pass } : {}),
  };
}

function splitAuth(auth: string): [string | undefined, string | undefined] {
  const i = auth.indexOf(":");
  const dec = (s: string) => (s ? decodeURIComponent(s) : undefined);
  return i < 0 ? [undefined, dec(auth)] : [dec(auth.slice(0, i)), dec(auth.slice(i + 1))];
}

/** True when `REDIS_URL` (with `REDIS_CLUSTER`) names a cluster. */
export function isClusterUrl(url: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return redisTarget(url, env).kind === "cluster";
}
