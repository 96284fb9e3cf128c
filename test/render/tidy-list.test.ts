import { describe, expect, it } from "vitest";
import { hb, listText } from "../../src/render/handlebars.js";

describe("the list helper (Intl.ListFormat, en-US)", () => {
  it("writes the serial comma, as the letters do", () => {
    expect(listText([])).toBe("");
    expect(listText(["CDE"])).toBe("CDE");
    expect(listText(["CDE", "WestEd"])).toBe("CDE and WestEd");
    expect(listText(["CDE", "WestEd", "CCSESA"])).toBe("CDE, WestEd, and CCSESA");
  });

  it("drops empty values and reads a non-list as empty", () => {
    expect(listText(["a", "", "b"])).toBe("a and b");
    expect(listText("not a list")).toBe("");
  });

  it("is what {{list}} prints in a template", () => {
    expect(hb.compile("{{list xs}}")({ xs: ["x", "y", "z"] })).toBe("x, y, and z");
  });
});
