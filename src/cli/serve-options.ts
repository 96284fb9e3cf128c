/**
 * `convene serve`'s option parsers, apart from serve.ts so that commander can run them while it
 * parses without loading fastify (see commands.ts).
 */
import { InvalidArgumentError } from "commander";
import { PUBLIC_URL_EXTRA_WHY, publicUrlExtra } from "../config.js";

export interface ListenAddress {
  host: string;
  port: number;
}

/** Loopback and a port clear of Mailpit's 8025, which a developer often runs beside convene. */
export const DEFAULT_LISTEN = "127.0.0.1:8090";

/** `HOST:PORT`, `[::1]:PORT` for IPv6; port 0 picks a free one. */
export function listenAddress(value: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65_535)
    throw new InvalidArgumentError("It must be HOST:PORT, like 127.0.0.1:8090.");
  return { host: (m[1] ?? m[2]) as string, port };
}

/** The https (or, for a local try, http) address the public reaches this server at. */
export function publicUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError("It must be a URL, like https://lists.example.org.");
  }
  if (u.protocol !== "https:" && u.protocol !== "http:")
    throw new InvalidArgumentError("It must start with https:// (or http://).");
  const extra = publicUrlExtra(u);
  if (extra) throw new InvalidArgumentError(`It must not carry ${extra}: ${PUBLIC_URL_EXTRA_WHY}.`);
  return u.href.replace(/\/+$/, "");
}
