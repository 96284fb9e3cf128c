/**
 * The fault-test SMTP relay, run as its own process (`node --import tsx smtp-proc.ts`), so a
 * killed or wedged worker can never take the relay's memory of what it received with it.
 *
 * Configuration: the FAULT_SMTP environment variable, JSON `{ port, record, user, pass, secrets? }`.
 * Control: one JSON line per command on stdin (`{"mode":"421"}`, …); each is acknowledged on
 * stdout with `{"ack":<n>}` once in force. Switching to another mode cuts every open
 * connection, so a client's pooled connections meet the new mode at once. stdout's first line is `{"listening":<port>}`.
 *
 * The record file gets one JSON line per event, written and fsync'd BEFORE the client is
 * answered, so a message the client may believe was lost is already on disk:
 *   {"t":"conn"}                       a TCP connection was accepted (every mode but unreachable)
 *   {"t":"msg","id":"<message-id local part>","to":["a@b"],"leak":0}
 *   {"t":"auth","ok":false}            an AUTH attempt
 * `leak` counts how many of `secrets` occur in the raw message (it must stay 0).
 *
 * Modes:
 *   accept           250 to everything (after `holdMs`, if set)
 *   421              421 to MAIL FROM: "service not available"
 *   close-greeting   the TCP connection is closed before the 220 greeting
 *   drop-after-data  the message is stored, then the connection is dropped instead of the 250
 *                    (every `dropEvery`-th message; the others are accepted)
 *   auth-535         AUTH is refused with 535 5.7.8
 *   unreachable      the port is closed: connections are refused
 * In every mode `rcpt550` / `rcpt452` (regular expressions) refuse matching RCPT TO addresses,
 * 452 only for the first `rcpt452Times` tries of each address.
 */
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { SMTPServer } from "smtp-server";

interface Setup {
  port: number;
  record: string;
  user: string;
  pass: string;
  secrets?: string[];
}

export type Mode =
  | "accept"
  | "421"
  | "close-greeting"
  | "drop-after-data"
  | "auth-535"
  | "unreachable";

export interface Command {
  mode: Mode;
  holdMs?: number;
  dropEvery?: number;
  rcpt550?: string;
  rcpt452?: string;
  rcpt452Times?: number;
}

const setup = JSON.parse(process.env.FAULT_SMTP ?? "{}") as Setup;
const fd = openSync(setup.record, "a");
function record(o: object): void {
  writeSync(fd, `${JSON.stringify(o)}\n`);
  fsyncSync(fd);
}

let cmd: Command = { mode: "accept" };
let r550: RegExp | undefined;
let r452: RegExp | undefined;
const tries452 = new Map<string, number>();
let messages = 0;
/** Client port → socket, so onData can drop the connection of its own session. */
const sockets = new Map<number, Socket>();

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

const smtp = new SMTPServer({
  authOptional: true,
  allowInsecureAuth: true,
  disabledCommands: ["STARTTLS"],
  logger: false,
  size: 20 * 1024 * 1024,
  onAuth(auth, _session, cb) {
    const ok =
      cmd.mode !== "auth-535" && auth.username === setup.user && auth.password === setup.pass;
    record({ t: "auth", ok });
    if (!ok) return cb(smtpError(535, "5.7.8 Authentication credentials invalid"));
    cb(null, { user: auth.username });
  },
  onMailFrom(_address, _session, cb) {
    if (cmd.mode === "421") return cb(smtpError(421, "4.3.2 Service not available, try later"));
    cb();
  },
  onRcptTo(address, _session, cb) {
    const a = address.address;
    if (r550?.test(a)) return cb(smtpError(550, "5.1.1 No such user here"));
    if (r452?.test(a)) {
      const n = (tries452.get(a) ?? 0) + 1;
      tries452.set(a, n);
      if (n <= (cmd.rcpt452Times ?? 1))
        return cb(smtpError(452, "4.2.2 Mailbox full, try again later"));
    }
    cb();
  },
  onData(stream, session, cb) {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const head = raw.slice(0, Math.max(0, raw.indexOf("\r\n\r\n")) || raw.length);
      const id = /^message-id:\s*<([^@>]+)@/im.exec(head)?.[1] ?? "";
      const leak = (setup.secrets ?? []).filter((s) => raw.includes(s)).length;
      record({ t: "msg", id, to: session.envelope.rcptTo.map((r) => r.address), leak });
      messages++;
      if (cmd.mode === "drop-after-data" && messages % (cmd.dropEvery ?? 1) === 0) {
        // Stored, but the client never hears the 250: it cannot know the message arrived.
        sockets.get(session.remotePort)?.destroy();
        return;
      }
      if (cmd.holdMs) setTimeout(() => cb(), cmd.holdMs);
      else cb();
    });
  },
});
smtp.on("error", () => undefined);

let listener: Server | undefined;

function listen(): Promise<void> {
  if (listener) return Promise.resolve();
  const srv = createServer((socket) => {
    record({ t: "conn" });
    socket.on("error", () => undefined);
    if (cmd.mode === "close-greeting") {
      socket.destroy();
      return;
    }
    const port = socket.remotePort ?? 0;
    sockets.set(port, socket);
    socket.on("close", () => sockets.delete(port));
    smtp.server.emit("connection", socket);
  });
  listener = srv;
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(setup.port, "127.0.0.1", () => resolve());
  });
}

function unlisten(): Promise<void> {
  const srv = listener;
  listener = undefined;
  if (!srv) return Promise.resolve();
  // Refuse new connections at once and cut the open ones: the relay is gone.
  for (const s of sockets.values()) s.destroy();
  return new Promise((resolve) => srv.close(() => resolve()));
}

async function apply(next: Command): Promise<void> {
  // A new mode starts on fresh connections: pooled ones from before would never see it.
  if (next.mode !== cmd.mode) for (const s of sockets.values()) s.destroy();
  cmd = next;
  r550 = next.rcpt550 ? new RegExp(next.rcpt550) : undefined;
  r452 = next.rcpt452 ? new RegExp(next.rcpt452) : undefined;
  if (next.mode === "unreachable") await unlisten();
  else await listen();
}

await listen();
process.stdout.write(`${JSON.stringify({ listening: setup.port })}\n`);
let n = 0;
const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line.trim()) return;
  const seq = ++n;
  apply(JSON.parse(line) as Command).then(
    () => process.stdout.write(`${JSON.stringify({ ack: seq })}\n`),
    (e: Error) => process.stdout.write(`${JSON.stringify({ ack: seq, error: e.message })}\n`),
  );
});
rl.on("close", () => {
  closeSync(fd);
  process.exit(0);
});
