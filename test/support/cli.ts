import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI from source in a child process, as an organizer would, with extra env. */
export function runCli(args: string[], env: Record<string, string> = {}, cwd = ROOT): CliResult {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli.ts"), ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
