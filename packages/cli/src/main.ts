#!/usr/bin/env node
/**
 * The `gradclip` command: demo, report, bench. Exit codes: 0 done, 1 a
 * failure while running (reported in one clear message), 2 a usage error.
 */
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { parseCommand, UsageError, type Command } from "./args.js";
import { packageRoot, runBench } from "./bench.js";
import { HELP } from "./help.js";
import { createProgress } from "./progress.js";
import { formatTable } from "./table.js";

/** Failures whose message is the whole story (no stack trace hint). */
function isExpected(e: unknown): boolean {
  return e instanceof Error && e.name === "HistoryFileError";
}

async function execute(cmd: Command): Promise<number> {
  switch (cmd.kind) {
    case "help":
      if (cmd.topic !== undefined && !(cmd.topic in HELP)) throw new UsageError(`no help for "${cmd.topic}"; commands: demo, report, bench.`);
      process.stdout.write(HELP[cmd.topic ?? "main"] + "\n");
      return 0;
    case "version": {
      const root = packageRoot();
      process.stdout.write(`${root ? (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version : "unknown"}\n`);
      return 0;
    }
    case "demo": {
      // Loaded on demand: tfjs and vega take a moment, and --help or a usage error should not wait for them.
      const { runDemo, summaryTable } = await import("./demo/index.js");
      const out = resolve(cmd.out);
      const started = performance.now();
      const summary = await runDemo(cmd.config, out, createProgress(process.stderr));
      const t = summaryTable(summary.runs);
      process.stdout.write(`\n${formatTable(t.columns, t.rows)}\n\n`);
      process.stdout.write(`${summary.runs.length} runs in ${((performance.now() - started) / 1000).toFixed(1)} s. Wrote ${join(out, "summary.json")} and ${join(out, "report.html")}.\n`);
      return 0;
    }
    case "report": {
      const { historyReport, readHistoryFile } = await import("./report/history-file.js");
      const { renderReport } = await import("./report/html.js");
      const history = await readHistoryFile(cmd.history);
      const html = await renderReport(historyReport(history, basename(cmd.history).replace(/\.json$/i, "")));
      await mkdir(dirname(resolve(cmd.out)), { recursive: true });
      await writeFile(cmd.out, html);
      process.stdout.write(`Wrote ${resolve(cmd.out)} (${history.totals.steps} steps).\n`);
      return 0;
    }
    case "bench":
      return runBench(cmd.filters);
  }
}

/** Runs the CLI on `argv`; returns the exit code (never throws). */
export async function main(argv: readonly string[]): Promise<number> {
  let cmd: Command;
  try {
    cmd = parseCommand(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    const hint = e.command ? `gradclip ${e.command} --help` : "gradclip --help";
    process.stderr.write(`gradclip: ${e.message}\nRun "${hint}" for usage.\n`);
    return 2;
  }
  try {
    return await execute(cmd);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`gradclip: ${e.message}\n`);
      return 2;
    }
    const err = e as Error;
    const what = cmd.kind === "demo" ? "the demo failed" : cmd.kind === "report" ? "the report failed" : `${cmd.kind} failed`;
    process.stderr.write(`gradclip: ${what}: ${isExpected(err) ? err.message : (err?.message ?? String(e)).replace(/^gradclip: /, "")}\n`);
    if (process.env.GRADCLIP_DEBUG && err?.stack) process.stderr.write(`${err.stack}\n`);
    else if (!isExpected(err)) process.stderr.write("Set GRADCLIP_DEBUG=1 for the stack trace.\n");
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
