/**
 * A measured child process: forked with IPC, it says "ready" once loaded, starts on "go" and
 * leaves on "close". The parent reads its CPU time at "go" and again at the end, so start-up
 * (module loading, connecting) is not counted per message.
 */
import { type ChildProcess, fork } from "node:child_process";
import { cpuMs, peakRssMb } from "./proc.js";

export interface Measured {
  child: ChildProcess;
  pid: number;
  cpuAtGo: number;
}

function waitFor(child: ChildProcess, want: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (m !== want) return;
      child.off("exit", onExit);
      child.off("message", onMessage);
      resolve();
    };
    const onExit = (code: number | null) =>
      reject(new Error(`${child.spawnargs.join(" ")} exited (code ${code}) before "${want}"`));
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/** Forks `script` (a file of this folder) with `args`, waits for "ready", then says "go". */
export async function startMeasured(script: string, args: string[]): Promise<Measured> {
  const child = fork(new URL(script, import.meta.url).pathname, args, {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await waitFor(child, "ready");
  const pid = child.pid as number;
  const cpuAtGo = cpuMs(pid);
  child.send("go");
  return { child, pid, cpuAtGo };
}

export interface Cost {
  cpuMs: number;
  peakRssMb: number;
}

/** CPU used since "go" and the peak RSS so far; read while the process still runs. */
export function costSoFar(m: Measured): Cost {
  return { cpuMs: cpuMs(m.pid) - m.cpuAtGo, peakRssMb: peakRssMb(m.pid) };
}

export async function closeMeasured(m: Measured): Promise<void> {
  if (m.child.exitCode !== null) return;
  const exited = new Promise((r) => m.child.once("exit", r));
  m.child.send("close");
  await exited;
}
