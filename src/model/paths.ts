import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

/**
 * The convene package's own folder (holding `templates/`). Found by walking up to package.json
 * because this file runs both from `src/` (tests, tsx) and from `dist/src/` (the built CLI).
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  root = dir;
  return dir;
}

/** Templates are looked up in the event's own `templates/` first, then in convene's. */
export function templateCandidates(eventDir: string, name: string): string[] {
  return [
    join(eventDir, "templates", `${name}.mjml`),
    join(packageRoot(), "templates", `${name}.mjml`),
  ];
}

export function resolveTemplate(eventDir: string, name: string): string | undefined {
  return templateCandidates(eventDir, name).find((p) => existsSync(p));
}
