/** The parent's handle on the SMTP sink process: start it, begin a round, wait for its end. */
import { type ChildProcess, fork } from "node:child_process";
import type { SinkCommand, SinkEvent, SinkStats } from "./sink-protocol.js";

export class Sink {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(): Promise<Sink> {
    const child = fork(new URL("./sink.ts", import.meta.url).pathname, [], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const ready = await nextEvent(child, "ready");
    return new Sink(child, ready.port);
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Counts from zero; `captureTo` saves the round's first message there, raw. */
  async reset(target: number, captureTo?: string): Promise<void> {
    const done = nextEvent(this.child, "reset");
    this.send({ type: "reset", target, ...(captureTo ? { captureTo } : {}) });
    await done;
  }

  /** Resolves when the round's `target`-th message has arrived. */
  reached(timeoutMs: number): Promise<SinkStats> {
    const reached = withTimeout(
      nextEvent(this.child, "reached").then((e) => e.stats),
      timeoutMs,
      () => this.stats().then((s) => `the SMTP sink received only ${s.count} messages`),
    );
    // Taken before the senders start; if the round fails first, its own error is the one to
    // report, not this promise's rejection once the sink is closed.
    reached.catch(() => undefined);
    return reached;
  }

  async stats(): Promise<SinkStats> {
    const reply = nextEvent(this.child, "stats");
    this.send({ type: "stats" });
    return (await reply).stats;
  }

  async close(): Promise<void> {
    const exited = new Promise((r) => this.child.once("exit", r));
    this.send({ type: "close" });
    await exited;
  }

  private send(cmd: SinkCommand): void {
    this.child.send(cmd);
  }
}

type EventOf<T extends SinkEvent["type"]> = Extract<SinkEvent, { type: T }>;

function nextEvent<T extends SinkEvent["type"]>(child: ChildProcess, type: T): Promise<EventOf<T>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: SinkEvent) => {
      if (m.type !== type) return;
      off();
      resolve(m as EventOf<T>);
    };
    const onExit = (code: number | null) => {
      off();
      reject(new Error(`the SMTP sink exited (code ${code}) while waiting for "${type}"`));
    };
    const off = () => {
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}

/** Rejects after `ms` with the message `why` gives then (it may ask the sink how far it got). */
export async function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  why: () => Promise<string>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      why().then((m) => reject(new Error(`${m} within ${Math.round(ms / 1000)} s`)), reject);
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
