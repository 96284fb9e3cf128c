import { describe, expect, it } from "vitest";
import { isoMillis } from "../../src/model/time.js";

describe("isoMillis", () => {
  it("is Date.parse, asked once or many times, for more instants than it keeps", () => {
    const base = Date.parse("2026-12-02T18:00:00.000Z");
    const isos = Array.from({ length: 25_000 }, (_, i) => new Date(base + i * 1000).toISOString());
    isos.push("2017-05-15T09:00:00.000-07:00", "2017-05-15T16:00:00Z", "not a time");
    for (let round = 0; round < 2; round++)
      for (const iso of isos) expect(isoMillis(iso)).toStrictEqual(Date.parse(iso));
  });
});
