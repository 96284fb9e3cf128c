/**
 * Who an address is, for the page that asks "stop e-mail from <organizer>?": looked up in the
 * audiences of the events serve was given. The definitions are cached and reloaded when their
 * files change (the worker's DefinitionCache), so a recipient added to a CSV is known without a
 * restart. An address in no audience, or an event that does not load, gives neutral wording.
 */
import type { KindRegistry } from "../kind.js";
import { DefinitionCache } from "../worker/definitions.js";
import type { Addressee } from "./pages.js";

export type AddresseeLookup = (address: string) => Promise<Addressee | undefined>;

export function addresseesIn(dirs: readonly string[], kinds: KindRegistry): AddresseeLookup {
  const cache = new DefinitionCache({ kinds });
  return async (address) => {
    const wanted = address.toLowerCase();
    for (const dir of dirs) {
      const loaded = (await cache.loadSettled(dir)).loaded;
      if (!loaded) continue;
      for (const byEmail of loaded.byEmail.values()) {
        const r = byEmail.get(wanted);
        if (r) return { name: r.name, organizer: loaded.def.event.organizer.name };
      }
    }
    return undefined;
  };
}
