/**
 * docker-compose.yml carries demo values for CONVENE_ADMIN_TOKEN and UNSUBSCRIBE_SECRET, which
 * anyone can read in this repository. `docker compose up` on a machine with a network address
 * must not put a console that logs in with the public token (or an unsubscribe endpoint that
 * accepts links minted with the public secret) on that network: the port is published on
 * loopback only.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ROOT } from "../worker/fixture.js";

interface Service {
  environment?: Record<string, string>;
  ports?: string[];
  command?: string[];
}

const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8")) as {
  services: Record<string, Service>;
};

/** `${VAR:-default}`: the value used when the environment does not set VAR. */
const defaultOf = (v: string | undefined) => /^\$\{[A-Z_]+:-(.+)\}$/.exec(v ?? "")?.[1];

describe("docker-compose.yml", () => {
  const convene = compose.services.convene as Service;

  it("runs the console with a demo admin token (the premise of the next test)", () => {
    expect(defaultOf(convene.environment?.CONVENE_ADMIN_TOKEN)).toBeTruthy();
    expect(convene.command).toContain("--serve");
  });

  it("publishes convene serve's port on loopback only", () => {
    expect(convene.ports?.length).toBeGreaterThan(0);
    for (const p of convene.ports ?? []) {
      // HOST:PORT:CONTAINER_PORT; a bare PORT:CONTAINER_PORT binds every host address.
      const parts = p.split(":");
      expect(parts, p).toHaveLength(3);
      expect(parts[0], p).toBe("127.0.0.1");
    }
  });
});
