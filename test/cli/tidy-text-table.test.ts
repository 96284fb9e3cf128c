import { describe, expect, it } from "vitest";
import { textTable } from "../../src/cli/text-table.js";

describe("textTable", () => {
  it("pads each column to its widest cell, two spaces apart, with no trailing spaces", () => {
    expect(
      textTable([
        ["STEP", "KIND", "N"],
        ["reminder-7d", "reminder", "91"],
        ["x", "", ""],
      ]),
    ).toEqual(["STEP         KIND      N", "reminder-7d  reminder  91", "x"]);
  });

  it("keeps given widths even when a cell is wider, and right-aligns numbers", () => {
    expect(
      textTable(
        [
          ["A", "PLANNED", "rest"],
          ["abc", "5", "r"],
        ],
        [{ width: 2 }, { width: 7, align: "right" }],
      ),
    ).toEqual(["A   PLANNED  rest", "abc        5  r"]);
  });
});
