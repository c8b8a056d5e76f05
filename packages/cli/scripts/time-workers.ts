// Times the demo's training: the quick (or, with "full", the full) plan trained with N worker threads for each N
// of the list (e.g. "2,1,2,1", alternating so load changes hit both alike); wall and CPU seconds, and a check
// that the results do not depend on N. Usage: node --import tsx packages/cli/scripts/time-workers.ts 2,1,2,1 [quick|full] [wasm|cpu]
import { loadavg } from "node:os";
import { useBackend } from "../src/demo/backend.js";
import { QUICK_CONFIG, FULL_CONFIG } from "../src/demo/config.js";
import { planDemo } from "../src/demo/plan.js";
import { trainAll } from "../src/demo/pool.js";
const config = process.argv[3] === "full" ? FULL_CONFIG : QUICK_CONFIG;
const backend = (process.argv[4] ?? "wasm") as "wasm" | "cpu";
const cfg = { ...config, backend };
await useBackend(backend);
const plan = planDemo(cfg);
console.log(`${process.argv[3] ?? "quick"} plan on ${backend}: ${plan.specs.length} runs`);
let ref: string | null = null;
for (const w of (process.argv[2] ?? "2,1,2,1").split(",").map(Number)) {
  const l0 = loadavg()[0]!;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await trainAll(cfg, plan.specs, w);
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const sig = JSON.stringify(r.map((x) => x.summary));
  if (ref === null) ref = sig;
  else if (sig !== ref) console.log("RESULTS DIFFER");
  console.log(
    `workers ${w}: wall ${wall.toFixed(1)} s, cpu ${((c.user + c.system) / 1e6).toFixed(1)} s, load ${l0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`,
  );
}
