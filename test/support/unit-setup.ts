/**
 * Setup of `npm run test:unit` (vitest.unit.config.ts): installs the TCP guard here and in the
 * CLI processes the tests start, and fails the file if anything in it, or in a CLI it started,
 * tried to connect, even where the code under test swallowed the error (ioredis retries
 * quietly, for one).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import "./no-sockets.mjs";

const GUARD = join(import.meta.dirname, "no-sockets.mjs");
const logDir = mkdtempSync(join(tmpdir(), "convene-unit-tcp-"));
const LOG = join(logDir, "attempts.txt");
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --import=${GUARD}`.trim();
process.env.CONVENE_TCP_ATTEMPTS_LOG = LOG;

afterAll(() => {
  // This process and every CLI it started append to the same log.
  const attempts = existsSync(LOG) ? readFileSync(LOG, "utf8").split("\n").filter(Boolean) : [];
  rmSync(logDir, { recursive: true, force: true });
  if (attempts.length)
    throw new Error(`TCP connections attempted in a unit test file: ${attempts.join(", ")}`);
});
