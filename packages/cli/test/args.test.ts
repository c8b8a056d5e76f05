import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCommand, UsageError } from "../src/args.js";
import { ADDITION_CONFIG, FULL_CONFIG, QUICK_CONFIG } from "../src/demo/config.js";
import { runCli } from "./helpers.js";

test("demo flags override the quick or full configuration", () => {
  const cmd = parseCommand([
    "demo",
    "--quick",
    "--seeds",
    "2",
    "--steps",
    "40",
    "--strategies",
    "none,clip-norm,zclip-cap",
    "--backend",
    "cpu",
    "--workers",
    "1",
    "--out",
    "x",
  ]);
  assert.equal(cmd.kind, "demo");
  if (cmd.kind !== "demo") return;
  assert.equal(cmd.config.seeds, 2);
  assert.equal(cmd.config.sweeps.seeds, 2, "the sweeps use at most --seeds seeds");
  assert.equal(cmd.config.steps, 40);
  assert.deepEqual(cmd.config.strategies, ["none", "clip-norm", "zclip-cap"]);
  assert.equal(cmd.config.backend, "cpu");
  assert.equal(cmd.config.workers, 1);
  assert.equal(cmd.out, "x");
  assert.equal(cmd.config.learningRate, QUICK_CONFIG.learningRate);
  const full = parseCommand(["demo"]);
  assert.ok(
    full.kind === "demo" &&
      full.config.steps === FULL_CONFIG.steps &&
      full.config.seeds === FULL_CONFIG.seeds &&
      full.out === "gradclip-demo",
  );
  assert.ok(full.kind === "demo" && full.config.task === "first-symbol" && full.config.backend === "wasm");
  assert.ok(full.kind === "demo" && full.config.sweeps.seeds === FULL_CONFIG.sweeps.seeds);
  const quick = parseCommand(["demo", "--quick"]);
  assert.ok(
    quick.kind === "demo" &&
      quick.config.seeds === QUICK_CONFIG.seeds &&
      quick.config.sweeps.seeds === QUICK_CONFIG.sweeps.seeds,
  );
  const addition = parseCommand(["demo", "--task", "addition"]);
  assert.ok(
    addition.kind === "demo" &&
      addition.config.task === "addition" &&
      addition.config.sequenceLength === ADDITION_CONFIG.sequenceLength &&
      addition.config.momentum === 0,
  );
});

test("report takes exactly one history file and an optional --out", () => {
  assert.deepEqual(parseCommand(["report", "h.json"]), { kind: "report", history: "h.json", out: "report.html" });
  assert.deepEqual(parseCommand(["report", "h.json", "--out", "r.html"]), {
    kind: "report",
    history: "h.json",
    out: "r.html",
  });
  assert.throws(() => parseCommand(["report"]), UsageError);
  assert.throws(() => parseCommand(["report", "a.json", "b.json"]), UsageError);
});

test("bad values and unknown flags are UsageErrors that say what is wrong", () => {
  const cases: [string[], RegExp][] = [
    [["demo", "--seeds", "0"], /^--seeds must be a positive integer; got 0\.$/],
    [["demo", "--steps", "1.5"], /^--steps must be a positive integer; got 1\.5\.$/],
    [["demo", "--steps", "many"], /^--steps must be a positive integer; got many\.$/],
    // parseArgs alone calls "-1" ambiguous and suggests --steps=-1, which is just as invalid.
    [["demo", "--steps", "-1"], /^--steps must be a positive integer; got -1\.$/],
    [["demo", "--steps=-1"], /^--steps must be a positive integer; got -1\.$/],
    [["demo", "--seeds", "-2.5"], /^--seeds must be a positive integer; got -2\.5\.$/],
    [["demo", "--steps", "--quick"], /^--steps must be a positive integer; got --quick\.$/],
    [["demo", "--strategies", "none,magic"], /unknown strategy "magic"/],
    [["demo", "--backend", "webgl"], /--backend must be cpu or wasm/],
    [["demo", "--task", "xor"], /^--task must be one of first-symbol, addition; got "xor"\.$/],
    [["demo", "--workers", "0"], /^--workers must be a positive integer; got 0\.$/],
    [["demo", "--frobnicate"], /Unknown option '--frobnicate'/],
    [["demo", "extra"], /Unexpected argument 'extra'/],
    [["bench", "--fast"], /Unknown option '--fast'/],
    [["train"], /unknown command "train"/],
    [[], /no command given/],
  ];
  for (const [argv, message] of cases)
    assert.throws(
      () => parseCommand(argv),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
      argv.join(" "),
    );
});

test("bench passes its name filters through", () => {
  assert.deepEqual(parseCommand(["bench"]), { kind: "bench", filters: [] });
  assert.deepEqual(parseCommand(["bench", "core", "tfjs"]), { kind: "bench", filters: ["core", "tfjs"] });
});

test("--help works for the program and each command", () => {
  assert.deepEqual(parseCommand(["--help"]), { kind: "help" });
  for (const c of ["demo", "report", "bench"])
    assert.deepEqual(parseCommand([c, "--help"]), { kind: "help", topic: c });
});

test("the CLI exits 2 with a clear message on usage errors, 0 on --help", () => {
  const bad = runCli(["demo", "--steps", "-1"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^gradclip: --steps must be a positive integer; got -1\.\n/);
  assert.doesNotMatch(bad.stderr, /ambiguous|--steps=-XYZ/);
  assert.match(bad.stderr, /gradclip demo --help/);
  const unknown = runCli(["demo", "--nope"]);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /Unknown option '--nope'/);
  assert.doesNotMatch(unknown.stderr, /\bat .*\.ts:\d+/, "no stack trace");
  const help = runCli(["report", "--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: gradclip report HISTORY\.json/);
});
