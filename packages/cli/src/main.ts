#!/usr/bin/env node
/**
 * The `gradclip` command: demo, report, bench. Exit codes: 0 done, 1 a
 * failure while running (reported in one clear message), 2 a usage error.
 */
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseCommand, UsageError, type Command } from "./args.js";
import { packageRoot, runBench } from "./bench.js";
import { HELP } from "./help.js";
import { createProgress } from "./progress.js";
import { formatTable } from "./table.js";

/** Failures whose message is the whole story (no stack trace hint). */
function isExpected(e: unknown): boolean {
  return e instanceof Error && e.name === "HistoryFileError";
}

async function execute(cmd: Command, argvText: string): Promise<number> {
  switch (cmd.kind) {
    case "help":
      if (cmd.topic !== undefined && !(cmd.topic in HELP))
        throw new UsageError(`no help for "${cmd.topic}"; commands: demo, report, bench.`);
      process.stdout.write(HELP[cmd.topic ?? "main"] + "\n");
      return 0;
    case "version": {
      const root = packageRoot();
      process.stdout.write(
        `${root ? (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version : "unknown"}\n`,
      );
      return 0;
    }
    case "demo": {
      // Loaded on demand: tfjs and vega take a moment, and --help or a usage error should not wait for them.
      const { runDemo, strategyTable, verdictLine } = await import("./demo/index.js");
      const out = resolve(cmd.out);
      const started = performance.now();
      const { summary, trained } = await runDemo(
        cmd.config,
        out,
        createProgress(process.stderr),
        `gradclip ${argvText}`,
      );
      const t = strategyTable(summary);
      process.stdout.write(`\n${formatTable(t.columns, t.rows)}\n\n`);
      process.stdout.write(`Verdict: ${verdictLine(summary)}\n`);
      process.stdout.write(
        `${trained} runs trained in ${((performance.now() - started) / 1000).toFixed(1)} s. Summary: ${join(out, "summary.json")}\n`,
      );
      process.stdout.write(`Report: ${pathToFileURL(join(out, "report.html")).href}\n`);
      return 0;
    }
    case "report": {
      const { historyReport, readHistoryFile, renderHistoryReport } = await import("./report/history-file.js");
      const history = await readHistoryFile(cmd.history);
      const html = await renderHistoryReport(historyReport(history, basename(cmd.history).replace(/\.json$/i, "")));
      await mkdir(dirname(resolve(cmd.out)), { recursive: true });
      await writeFile(cmd.out, html);
      process.stdout.write(`Wrote ${pathToFileURL(resolve(cmd.out)).href} (${history.totals.steps} steps).\n`);
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
    return await execute(cmd, argv.join(" "));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`gradclip: ${e.message}\n`);
      return 2;
    }
    const err = e as Error;
    const what =
      cmd.kind === "demo" ? "the demo failed" : cmd.kind === "report" ? "the report failed" : `${cmd.kind} failed`;
    process.stderr.write(
      `gradclip: ${what}: ${isExpected(err) ? err.message : (err?.message ?? String(e)).replace(/^gradclip: /, "")}\n`,
    );
    if (process.env.GRADCLIP_DEBUG && err?.stack) process.stderr.write(`${err.stack}\n`);
    else if (!isExpected(err)) process.stderr.write("Set GRADCLIP_DEBUG=1 for the stack trace.\n");
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
