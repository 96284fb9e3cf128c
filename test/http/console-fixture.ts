/**
 * For the console's tests: an SMTP relay that wants AUTH (so SMTP_URL carries a password), a
 * pino log captured in memory, and a cookie-keeping HTTP client that logs in like a browser.
 */
import { Writable } from "node:stream";
import { type ParsedMail, simpleParser } from "mailparser";
import { type Logger, pino } from "pino";
import { SMTPServer } from "smtp-server";

export const ADMIN_TOKEN = "console-admin-token-9f8e7d6c5b4a3210";
export const SMTP_USER = "u";
export const SMTP_PASS = "s3cret";

export interface AuthRelay {
  url: string;
  received: { to: string; subject: string; sendId: string }[];
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A loopback relay that accepts only u / s3cret over AUTH PLAIN/LOGIN (no TLS: loopback). */
export async function authRelay(): Promise<AuthRelay> {
  const received: AuthRelay["received"] = [];
  const parsing: Promise<void>[] = [];
  const server = new SMTPServer({
    allowInsecureAuth: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASS) cb(null, { user: "u" });
      else cb(new Error("535 bad credentials"));
    },
    onData(stream, _session, cb) {
      parsing.push(
        simpleParser(stream).then((m: ParsedMail) => {
          received.push({
            to: (Array.isArray(m.to) ? m.to[0] : m.to)?.value[0]?.address ?? "",
            subject: m.subject ?? "",
            sendId: String(m.headers.get("x-convene-send-id") ?? ""),
          });
          cb();
        }),
      );
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://${SMTP_USER}:${SMTP_PASS}@127.0.0.1:${port}?maxConnections=5`,
    received,
    async waitFor(n, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > until) throw new Error(`relay got ${received.length} of ${n} messages`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await Promise.all(parsing);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A debug-level pino logger whose every line lands in `text()`. */
export function capturedLog(): { log: Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { log: pino({ level: "debug" }, sink), text: () => chunks.join("") };
}

/** Cookies kept between requests, as a browser would (names and values only: one host). */
export class Client {
  private readonly jar = new Map<string, string>();

  constructor(readonly base: string) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.jar.size) headers.set("cookie", [...this.jar].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(`${this.base}${path}`, { ...init, headers, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      const [pair = ""] = c.split(";");
      const i = pair.indexOf("=");
      const [k, v] = [pair.slice(0, i), pair.slice(i + 1)];
      if (v) this.jar.set(k, v);
      else this.jar.delete(k);
    }
    return res;
  }

  get(path: string): Promise<Response> {
    return this.request(path);
  }

  post(path: string, form: Record<string, string>): Promise<Response> {
    return this.request(path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
  }

  /** The CSRF token of the form on a page (the page also sets its secret cookie). */
  async csrfFrom(path: string): Promise<string> {
    const body = await (await this.get(path)).text();
    const m = /name="_csrf" value="([^"]+)"/.exec(body);
    if (!m) throw new Error(`no CSRF token on ${path}`);
    return m[1] as string;
  }

  async login(token = ADMIN_TOKEN): Promise<Response> {
    const csrf = await this.csrfFrom("/console/login");
    return this.post("/console/login", { token, _csrf: csrf });
  }
}
