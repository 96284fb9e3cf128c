/** Imported once by src/cli.ts: makes `convene validate` render every template. */
import { addEventCheck } from "../cli/validate.js";
import { checkTemplates } from "./check.js";

addEventCheck((def) => checkTemplates(def));
