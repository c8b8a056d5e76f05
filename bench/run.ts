/**
 * `npm run bench [-- NAME...]`: runs every bench/*.bench.ts (or those whose
 * file name contains one of the NAMEs), one after another, each in its own
 * Node process so that one benchmark's memory never weighs on the next. Each
 * script prints its own table; add a benchmark by adding a file.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const filters = process.argv.slice(2);
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => filters.length === 0 || filters.some((name) => f.includes(name)))
  .sort();

if (scripts.length === 0) console.log(`no bench/*.bench.ts matches ${filters.join(", ") || "(none found)"}`);
let failed = 0;
for (const file of scripts) {
  console.log(`\n== bench/${file}`);
  const { status, signal } = spawnSync(process.execPath, ["--import", "tsx", `${dir}${file}`], { stdio: "inherit" });
  if (status !== 0) {
    failed++;
    console.log(`bench/${file} failed (${signal ?? `exit ${status}`})`);
  }
}
process.exitCode = failed ? 1 : 0;
