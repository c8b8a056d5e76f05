/**
 * Command-line parsing (node:util parseArgs, strict): every unknown flag or
 * bad value becomes a `UsageError`, which main turns into exit code 2.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { baseConfig, STRATEGIES, type DemoConfig, type StrategyName } from "./demo/config.js";
import { TASKS, type TaskName } from "./demo/tasks.js";

/** A mistake in the command line: printed with a hint, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

export type Command =
  | { kind: "help"; topic?: string }
  | { kind: "version" }
  | { kind: "demo"; config: DemoConfig; out: string }
  | { kind: "report"; history: string; out: string }
  | { kind: "bench"; filters: string[] };

export const COMMANDS = ["demo", "report", "bench"] as const;

type FlagSpec = Record<string, { type: "string" | "boolean"; short?: string }>;
interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * `--flag VALUE` → `--flag=VALUE` for the numeric flags. parseArgs refuses a
 * value that starts with "-" as ambiguous and suggests `--steps=-1`, which is
 * still wrong; bound to its flag, `-1` (or a forgotten value like `--quick`)
 * reaches our own check, which says what a valid value is.
 */
function bindNumericValues(args: readonly string[], numeric: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return [...out, ...args.slice(i)];
    if (numeric.includes(a) && i + 1 < args.length && args[i + 1]!.startsWith("-")) {
      out.push(`${a}=${args[i + 1]}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function parse(
  command: string,
  args: string[],
  options: FlagSpec,
  positionals: boolean,
  numeric: readonly string[] = [],
): Parsed {
  try {
    return parseArgs({
      args: bindNumericValues(args, numeric),
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: positionals,
    }) as Parsed;
  } catch (e) {
    // parseArgs messages are clear ("Unknown option '--x'"); drop its hint about "--" which does not apply here.
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, "."), command);
  }
}

/** Worker threads by default: 2 where there are 2 cores or more (measured faster; see docs/cli.md), else 1. */
export function defaultWorkers(): number {
  return Math.min(2, Math.max(1, availableParallelism()));
}

function positiveInt(value: string | undefined, flag: string, command: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${flag} must be a positive integer; got ${value === "" ? "nothing" : value}.`, command);
  }
  return Number(value);
}

function strategies(value: string | undefined): StrategyName[] | undefined {
  if (value === undefined) return undefined;
  const list = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (list.length === 0) throw new UsageError(`--strategies needs at least one of ${STRATEGIES.join(", ")}.`, "demo");
  for (const s of list) {
    if (!(STRATEGIES as readonly string[]).includes(s)) {
      throw new UsageError(`unknown strategy "${s}" in --strategies; choose from ${STRATEGIES.join(", ")}.`, "demo");
    }
  }
  return [...new Set(list)] as StrategyName[];
}

function parseDemo(args: string[]): Command {
  const { values } = parse(
    "demo",
    args,
    {
      quick: { type: "boolean" },
      out: { type: "string" },
      seeds: { type: "string" },
      steps: { type: "string" },
      strategies: { type: "string" },
      backend: { type: "string" },
      task: { type: "string" },
      workers: { type: "string" },
    },
    false,
    ["--seeds", "--steps", "--workers"],
  );
  if (values.help) return { kind: "help", topic: "demo" };
  const backend = values.backend as string | undefined;
  if (backend !== undefined && backend !== "cpu" && backend !== "wasm") {
    throw new UsageError(`--backend must be cpu or wasm; got "${backend}".`, "demo");
  }
  const task = values.task as string | undefined;
  if (task !== undefined && !(TASKS as readonly string[]).includes(task)) {
    throw new UsageError(`--task must be one of ${TASKS.join(", ")}; got "${task}".`, "demo");
  }
  const base = baseConfig((task as TaskName | undefined) ?? "first-symbol", values.quick === true);
  const seeds = positiveInt(values.seeds as string | undefined, "--seeds", "demo") ?? base.seeds;
  const config: DemoConfig = {
    ...base,
    strategies: strategies(values.strategies as string | undefined) ?? [...base.strategies],
    seeds,
    // The sweeps use at most as many seeds as the strategies.
    sweeps: { ...base.sweeps, seeds: Math.min(base.sweeps.seeds, seeds) },
    steps: positiveInt(values.steps as string | undefined, "--steps", "demo") ?? base.steps,
    backend: (backend as DemoConfig["backend"] | undefined) ?? base.backend,
    workers: positiveInt(values.workers as string | undefined, "--workers", "demo") ?? defaultWorkers(),
  };
  const out = values.out as string | undefined;
  if (out === "") throw new UsageError("--out needs a directory.", "demo");
  return { kind: "demo", config, out: out ?? "gradclip-demo" };
}

function parseReport(args: string[]): Command {
  const { values, positionals } = parse("report", args, { out: { type: "string" } }, true);
  if (values.help) return { kind: "help", topic: "report" };
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "report needs a history file: gradclip report HISTORY.json"
        : `report takes one history file; got ${positionals.length}.`,
      "report",
    );
  }
  const out = values.out as string | undefined;
  if (out === "") throw new UsageError("--out needs a file name.", "report");
  return { kind: "report", history: positionals[0]!, out: out ?? "report.html" };
}

/** Parses `argv` (without node and the script). */
export function parseCommand(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError("no command given.");
  if (first === "--help" || first === "-h" || first === "help")
    return { kind: "help", ...(rest[0] ? { topic: rest[0] } : {}) };
  if (first === "--version" || first === "-v") return { kind: "version" };
  switch (first) {
    case "demo":
      return parseDemo(rest);
    case "report":
      return parseReport(rest);
    case "bench": {
      const { values, positionals } = parse("bench", rest, {}, true);
      return values.help ? { kind: "help", topic: "bench" } : { kind: "bench", filters: positionals };
    }
    default:
      throw new UsageError(
        first.startsWith("-")
          ? `unknown option "${first}" before the command.`
          : `unknown command "${first}"; commands: ${COMMANDS.join(", ")}.`,
      );
  }
}
