// pnpm readme:table — rewrites the README's table of arguments from ARGUMENTS.
import { readFileSync, writeFileSync } from "node:fs";
import { ARGUMENTS } from "../src/arguments.js";
import { formatArgumentsTable, writeArgumentsSection } from "./arguments-table.js";

const path = new URL("../README.md", import.meta.url);
writeFileSync(path, writeArgumentsSection(readFileSync(path, "utf8"), await formatArgumentsTable(ARGUMENTS)));
