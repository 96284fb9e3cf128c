import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { answersPing } from "../../src/store/embedded.js";
import { removeDir } from "./support.js";

/** A redis-server of the test's own, on a port of the 6460-6479 range, in a temp folder. */
export interface OwnRedis {
  port: number;
  url: string;
  stop(): Promise<void>;
}

export async function startOwnRedis(port: number, extra: string[] = []): Promise<OwnRedis> {
  if (await answersPing("127.0.0.1", port)) throw new Error(`port ${port} is already in use`);
  const dir = mkdtempSync(join(tmpdir(), `convene-redis-${port}-`));
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...extra],
    { stdio: "ignore" },
  );
  for (let i = 0; i < 100 && !(await answersPing("127.0.0.1", port)); i++)
    await new Promise((r) => setTimeout(r, 50));
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await gone;
      }
      removeDir(dir);
    },
  };
}
