/**
 * The store's Lua scripts: one file per script in `./scripts/`, named `<command>-<keys>.lua` and
 * opening with a KEYS/ARGV header, as BullMQ keeps its `commands/`. They are read from disk once,
 * when this module loads (next to it: `src/store/scripts/` under tsx, `dist/src/store/scripts/`
 * once built, which is why `npm run build` copies them), and defined on each connection with
 * ioredis `defineCommand`, which runs them by EVALSHA. The declarations below type them, so the
 * stores call `redis.ledgerTransition(…)` like any other command.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RedisCommander, Result } from "ioredis";
import type { Redis } from "./redis.js";

declare module "ioredis" {
  interface RedisCommander<Context> {
    /** ledgerTransition-2.lua: now, then (id, allowed, patch, counters) per move → per move
     * [1 moved | 0 blocked, the state before], flat. */
    ledgerTransition(
      ledgerKey: string,
      pendingKey: string,
      nowMs: string,
      ...moves: string[]
    ): Result<(number | string)[], Context>;
    /** calendarRecordDelivery-1.lua: → 1 recorded, 0 a newer sequence was kept. */
    calendarRecordDelivery(
      deliveredKey: string,
      field: string,
      recordJson: string,
      sequence: string,
    ): Result<number, Context>;
    /** registrationKeepEarliest-1.lua: → 1 recorded, 0 an earlier time was kept. */
    registrationKeepEarliest(
      registrationsKey: string,
      team: string,
      registeredAt: string,
    ): Result<number, Context>;
    /** smtpConnectionFailed-1.lua: → the wait still to run, ms. */
    smtpConnectionFailed(
      backoffKey: string,
      nowMs: string,
      baseMs: string,
      maxMs: string,
    ): Result<number, Context>;
    /** sendRateTake-1.lua: → ms until the reserved send time, or -ms when none was reserved. */
    sendRateTake(bucketKey: string, intervalMs: string, maxWaitMs: string): Result<number, Context>;
    /** stepReportClaim-1.lua: → 1 claimed by this call (or its resend), 0 by another. */
    stepReportClaim(
      reportsKey: string,
      occurrence: string,
      token: string,
      ttlSeconds: string,
    ): Result<number, Context>;
    /** queuePending-1.lua: → [waiting or running, delayed, delayed by each score asked]. */
    queuePending(queuePrefix: string, ...scores: string[]): Result<number[], Context>;
    /** controlPause-1.lua. */
    controlPause(controlKey: string, field: string): Result<null, Context>;
    /** controlResume-1.lua: → 1 resumed, 0 cancelled. */
    controlResume(controlKey: string, field: string): Result<number, Context>;
    /** suppressionRemoveIf-1.lua: → 1 removed, 0 absent or changed. */
    suppressionRemoveIf(
      suppressedKey: string,
      address: string,
      expectedJson: string,
    ): Result<number, Context>;
    /** rsvpRecord-1.lua: → 1 recorded, 0 a newer answer was kept, 2 already recorded. */
    rsvpRecord(
      rsvpKey: string,
      field: string,
      recordJson: string,
      sequence: string,
      at: string,
      message: string,
    ): Result<number, Context>;
    /**
     * sendChecks-7.lua: → [ledger, control (flat), registration, item, delivered, RSVP (flat),
     * suppression].
     */
    sendChecks(
      ledgerKey: string,
      controlKey: string,
      registrationsKey: string,
      itemsKey: string,
      deliveredKey: string,
      rsvpKey: string,
      suppressedKey: string,
      id: string,
      team: string,
      item: string,
      deliveredField: string,
      withRsvp: string,
      address: string,
    ): Result<
      [
        string | null,
        string[],
        string | null,
        string | null,
        string | null,
        string[],
        string | null,
      ],
      Context
    >;
    /** jobsLost-1.lua: → one character per id: "f" failed, "m" missing, "-" otherwise. */
    jobsLost(failedKey: string, jobKeyPrefix: string, ...ids: string[]): Result<string, Context>;
    /** smtpClearance-4.lua: → [halt, wait ms, SEND_RATE turn (as sendRateTake) | null]. */
    smtpClearance(
      haltKey: string,
      slowDownKey: string,
      backoffKey: string,
      bucketKey: string,
      nowMs: string,
      intervalMs: string,
      maxWaitMs: string,
    ): Result<[string | null, number, number | null], Context>;
  }
}

/**
 * Every command declared above. A file missing for one of them would only show as "not a
 * function" on first use, so loading checks the folder against this list.
 */
export const COMMANDS = [
  "ledgerTransition",
  "calendarRecordDelivery",
  "registrationKeepEarliest",
  "smtpConnectionFailed",
  "sendRateTake",
  "controlPause",
  "controlResume",
  "suppressionRemoveIf",
  "rsvpRecord",
  "sendChecks",
  "smtpClearance",
  "jobsLost",
  "stepReportClaim",
  "queuePending",
] as const satisfies readonly (keyof RedisCommander)[];

export interface Script {
  /** The command name it is defined under: the file name before `-<keys>.lua`. */
  name: string;
  numberOfKeys: number;
  lua: string;
  file: string;
}

export const SCRIPTS_DIR = fileURLToPath(new URL("./scripts/", import.meta.url));

const FILE_NAME = /^([A-Za-z][A-Za-z0-9]*)-(\d+)\.lua$/;
// \r?: a checkout with Windows line endings (core.autocrlf) must not break every command.
const HEADER = /^--\[\[\r?\n([\s\S]*?)\r?\n\]\]\r?\n/;

/** Reads every script of `dir`, refusing one whose name or header does not say its keys. */
export function loadScripts(dir: string = SCRIPTS_DIR): Script[] {
  if (!existsSync(dir))
    throw new Error(
      `${dir} is missing: build with \`npm run build\`, which copies the store's Lua scripts`,
    );
  return readdirSync(dir)
    .filter((f) => f.endsWith(".lua"))
    .sort()
    .map((f) => readScript(join(dir, f)));
}

function readScript(file: string): Script {
  const m = FILE_NAME.exec(basename(file));
  if (!m) throw new Error(`${file}: a store script is named <command>-<number of keys>.lua`);
  const lua = readFileSync(file, "utf8");
  const numberOfKeys = Number(m[2]);
  checkHeader(file, lua, numberOfKeys);
  return { name: m[1] as string, numberOfKeys, lua, file };
}

/**
 * The header is what a reader of a script (or of a MONITOR trace) goes by; one that disagrees
 * with the key count in the file name would make ioredis pass keys as arguments or the reverse.
 */
function checkHeader(file: string, lua: string, numberOfKeys: number): void {
  const header = HEADER.exec(lua)?.[1];
  if (header === undefined) throw new Error(`${file}: must open with a --[[ … ]] header`);
  const listed = [...header.matchAll(/^\s*KEYS\[(\d+)\]/gm)].map((k) => Number(k[1]));
  const expected = Array.from({ length: numberOfKeys }, (_, i) => i + 1);
  if (listed.join() !== expected.join())
    throw new Error(
      `${file}: its header lists KEYS[${listed.join("], KEYS[")}], its name says ${numberOfKeys} key(s)`,
    );
  if (!/^\s*ARGV\[\d+\]/m.test(header)) throw new Error(`${file}: its header lists no ARGV`);
}

function checkCommands(scripts: readonly Script[]): readonly Script[] {
  const names = scripts.map((s) => s.name).sort();
  const declared = [...COMMANDS].sort();
  if (names.join() !== declared.join())
    throw new Error(
      `${SCRIPTS_DIR} holds ${names.join(", ") || "no scripts"}; the store declares ${declared.join(", ")}`,
    );
  return scripts;
}

/** Read at startup: a broken install fails on its first command, not on its first send. */
const SCRIPTS = checkCommands(loadScripts());

const defined = new WeakSet<Redis>();

/** Defines every script on the connection, once however many stores share it. */
export function defineScripts(redis: Redis): void {
  if (defined.has(redis)) return;
  for (const s of SCRIPTS)
    redis.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
  defined.add(redis);
}
