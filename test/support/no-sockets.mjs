/**
 * The unit suite's promise, enforced: no TCP connection (Redis, SMTP, a browser's debugging
 * port). Loaded into each unit test file by test/support/unit-setup.ts and, through
 * NODE_OPTIONS, into every CLI process those tests start. Plain JavaScript so that a CLI child
 * can load it before tsx is there. Unix sockets and pipes (Vitest's own channels) stay allowed.
 */
import { appendFileSync } from "node:fs";
import net from "node:net";

const connect = net.Socket.prototype.connect;

function targetOf(args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === "object" && first !== null)
    return first.path ? undefined : `${first.host ?? "localhost"}:${first.port}`;
  if (typeof first === "string" && Number.isNaN(Number(first))) return undefined;
  return `${typeof args[1] === "string" ? args[1] : "localhost"}:${first}`;
}

net.Socket.prototype.connect = function guardedConnect(...args) {
  const target = targetOf(args);
  if (target === undefined) return connect.apply(this, args);
  // Logged for the test file (test/support/unit-setup.ts), also from a CLI child whose exit
  // code the test does not look at.
  const log = process.env.CONVENE_TCP_ATTEMPTS_LOG;
  if (log) appendFileSync(log, `${target}\n`);
  const message = `unit test process ${process.pid} opened a TCP connection to ${target}: a test that needs Redis, SMTP or a browser belongs in NEEDS_SERVICES in vitest.unit.config.ts`;
  process.stderr.write(`${message}\n`);
  throw new Error(message);
};
