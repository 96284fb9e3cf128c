/**
 * Where a message is assembled for SMTP (assemble.ts): in the calling thread, or in threads of
 * its own (issue 12). A worker sending a campaign keeps one core busy on its main thread,
 * rendering, checking, claiming and recording, while the machine's other core sits partly idle;
 * assembling the MIME is the largest single part of a send's CPU, and it needs nothing but the
 * composed message, so it moves there.
 *
 * Every message the threads cannot take is assembled in the calling thread instead, so a send
 * never depends on them: one that is not plain data (isPlainMessage) or cannot be posted, one
 * whose assembly threw in the thread (assembled again here, so the error reaches the send as it
 * always did), and every message after a thread died, could not start or went unanswered
 * (logged once through `onBroken`).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type Mail from "nodemailer/lib/mailer/index.js";
import { type Assembled, assemble, PartCache } from "./assemble.js";

export interface AssemblyRequest {
  id: number;
  msg: Mail.Options;
}

export type AssemblyReply =
  | {
      id: number;
      outcome: "assembled";
      raw: Uint8Array;
      envelope: Mail.Envelope;
      messageId: string;
    }
  | { id: number; outcome: "unsupported" }
  | { id: number; outcome: "failed" };

/** Assembles messages for SMTP; undefined for one nodemailer must build itself (assemble.ts). */
export interface Assembler {
  assemble(msg: Mail.Options): Promise<Assembled | undefined>;
  close(): Promise<void>;
}

function inCaller(): Assembler {
  const cache = new PartCache();
  return {
    assemble: async (msg) => assemble(msg, cache),
    close: async () => undefined,
  };
}

/** tsx's ESM API as an import would resolve it (a require resolves its CommonJS twin). */
function tsxApi(from: string): string {
  const pkg = createRequire(from).resolve("tsx/package.json");
  const exported = JSON.parse(readFileSync(pkg, "utf8")).exports["./esm/api"].import.default;
  return pathToFileURL(join(dirname(pkg), exported)).href;
}

/**
 * The thread, started on the entry beside this module. Run from source (tests, benches under
 * tsx) the entry is TypeScript as well, and a thread does not take tsx's loader from
 * `execArgv`: it imports the entry through tsx's API instead (a dev dependency, as tsx is
 * whenever the source runs). The built CLI starts the compiled entry directly.
 */
function startThread(): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./assemble-thread.js", here));
  const entry = new URL("./assemble-thread.ts", here).href;
  const api = tsxApi(here);
  const code = `import(${JSON.stringify(api)}).then((t) => t.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(here)}))`;
  return new Worker(code, { eval: true });
}

interface Waiting {
  msg: Mail.Options;
  resolve: (a: Assembled | undefined) => void;
  reject: (e: unknown) => void;
  /** When it was posted (the watchdog's clock). */
  at: number;
}

function settle(w: Waiting, f: () => Assembled | undefined): void {
  try {
    w.resolve(f());
  } catch (e) {
    w.reject(e);
  }
}

const PLAIN_PROTOTYPES = new Set<unknown>([Object.prototype, Array.prototype, null]);

/**
 * Whether the message survives a structured clone as nodemailer would read it: plain objects,
 * arrays, strings, numbers, Dates and bytes only. A clone drops prototypes, getters and
 * non-enumerable properties, and turns an own `__proto__` key into a prototype, so a message
 * built from class instances (a Luxon DateTime as `date`, an address object with getters) would
 * be assembled differently in the thread: it is assembled in the caller's thread instead.
 */
export function isPlainMessage(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== "object") return typeof value !== "function";
  if (value instanceof Date || value instanceof Uint8Array) return true;
  if (depth > 64 || !PLAIN_PROTOTYPES.has(Object.getPrototypeOf(value))) return false;
  if (Object.getOwnPropertySymbols(value).length) return false;
  return Object.getOwnPropertyNames(value).every((key) => plainProperty(value, key, depth));
}

/** An own property a clone keeps as it is: enumerable data, no accessor, no `__proto__`. */
function plainProperty(owner: object, key: string, depth: number): boolean {
  if (key === "__proto__") return false;
  if (Array.isArray(owner) && key === "length") return true;
  const d = Object.getOwnPropertyDescriptor(owner, key);
  if (!d?.enumerable || d.get || d.set) return false;
  return isPlainMessage(d.value, depth + 1);
}

/**
 * A message the thread has not answered in this long (a thread stuck, or a reply it could not
 * post) is taken as the thread's death: what it holds is assembled in the caller's thread.
 */
const ANSWER_WITHIN_MS = 30_000;

class ThreadAssembler implements Assembler {
  private readonly pool: Worker[] = [];
  private readonly waiting = new Map<number, Waiting>();
  private readonly cache = new PartCache();
  private readonly watchdog: NodeJS.Timeout;
  private seq = 0;
  private broken = false;
  private closing = false;

  constructor(
    threads: number,
    private readonly onBroken: (e: Error) => void,
  ) {
    try {
      for (let i = 0; i < threads; i++) this.pool.push(this.spawn());
    } catch (e) {
      // No thread can be made here (a container's process limit, no tsx from source).
      this.lost(e as Error);
    }
    this.watchdog = setInterval(() => this.checkAnswers(), ANSWER_WITHIN_MS / 6);
    this.watchdog.unref();
  }

  private spawn(): Worker {
    const t = startThread();
    t.on("message", (r: AssemblyReply) => this.answered(r));
    t.on("messageerror", (e) => this.lost(e));
    t.once("error", (e) => this.lost(e));
    t.once("exit", (code) => {
      if (!this.closing) this.lost(new Error(`message assembly thread exited (code ${code})`));
    });
    // After the listeners, which ref the thread again: an idle thread must not keep alive a
    // process that has nothing else left to do. It is ref'd while it holds a message.
    t.unref();
    return t;
  }

  assemble(msg: Mail.Options): Promise<Assembled | undefined> {
    return new Promise((resolve, reject) => {
      const w: Waiting = { msg, resolve, reject, at: Date.now() };
      const thread = this.pool[this.seq % this.pool.length];
      if (this.broken || this.closing || !thread || !isPlainMessage(msg))
        return settle(w, () => this.here(msg));
      const id = ++this.seq;
      try {
        thread.postMessage({ id, msg } satisfies AssemblyRequest);
      } catch {
        return settle(w, () => this.here(msg));
      }
      this.waiting.set(id, w);
      if (this.waiting.size === 1) for (const t of this.pool) t.ref();
    });
  }

  private here(msg: Mail.Options): Assembled | undefined {
    return assemble(msg, this.cache);
  }

  private take(id: number): Waiting | undefined {
    const w = this.waiting.get(id);
    this.waiting.delete(id);
    if (w && this.waiting.size === 0) for (const t of this.pool) t.unref();
    return w;
  }

  private answered(r: AssemblyReply): void {
    const w = this.take(r.id);
    if (!w) return;
    if (r.outcome === "unsupported") w.resolve(undefined);
    else if (r.outcome === "failed") settle(w, () => this.here(w.msg));
    else {
      const raw = Buffer.from(r.raw.buffer, r.raw.byteOffset, r.raw.byteLength);
      w.resolve({ raw, envelope: r.envelope, messageId: r.messageId });
    }
  }

  private checkAnswers(): void {
    // The map keeps posting order: the first entry is the oldest.
    const oldest = this.waiting.values().next().value as Waiting | undefined;
    if (oldest && Date.now() - oldest.at > ANSWER_WITHIN_MS)
      this.lost(new Error(`message assembly thread gave no answer in ${ANSWER_WITHIN_MS} ms`));
  }

  /** A thread died: what it held, and everything after, is assembled in the caller's thread. */
  private lost(e: Error): void {
    if (this.broken) return;
    this.broken = true;
    if (!this.closing) this.onBroken(e);
    this.drain();
    for (const t of this.pool) void t.terminate();
  }

  private drain(): void {
    for (const [id, w] of this.waiting) {
      this.take(id);
      settle(w, () => this.here(w.msg));
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    await Promise.all(this.pool.map((t) => t.terminate()));
    this.drain();
  }
}

/** `threads` threads of its own (see the top of the file), or the caller's thread for 0. */
export function assembler(threads: number, onBroken: (e: Error) => void = () => {}): Assembler {
  return threads > 0 ? new ThreadAssembler(threads, onBroken) : inCaller();
}
