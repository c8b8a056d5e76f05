/**
 * TypeScript consumers of the installed tarball under each module
 * resolution a project may use (nodenext and node16 from ES modules and from
 * CommonJS, bundler, node10), all with `strict` and
 * `exactOptionalPropertyTypes`, and with skipLibCheck off so gradclip's own
 * .d.ts files are checked too. The programs that TypeScript can turn into
 * something Node runs are emitted and run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import ts from "typescript";
import { fullProject, run, scratchDir } from "./packed.js";

/** Uses the public types hard enough that a missing or `any` type fails (the @ts-expect-error lines). */
const CONSUMER = `
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as tfl from "@tensorflow/tfjs-layers";
import { clipGradNorm_, GradientMonitor, NonFiniteNormError, type Grads, type NormType } from "gradclip";
import {
  withGradientClipping, gradNormCallback, gradientMonitorCallback, ClippedOptimizer,
  type GradientClippingOptions,
} from "gradclip/tfjs";
import { wasmSimdSupported, type ArrayKernels } from "gradclip/extend";
import { registerClipPath, type ClipPath } from "gradclip/tfjs/extend";

const grads: Grads = [new Float32Array([3, 4]), null, { grad: new Float64Array([0]) }];
const normType: NormType = "inf";
const norm: number = clipGradNorm_(grads, 1, { normType: 2 });
function neverCalled(): GradientClippingOptions {
  // @ts-expect-error maxNorm is a number
  clipGradNorm_(grads, "1");
  // @ts-expect-error not a policy
  return { nonFinite: "ignore" };
}
const options: GradientClippingOptions = { maxNorm: 1, nonFinite: "skip" };
const simd: boolean = wasmSimdSupported();
const restorePath = registerClipPath("cpu", (): ClipPath | null => null);
restorePath();
function kernelsNeverCalled(k: ArrayKernels): number {
  // @ts-expect-error sumSquares takes a Float32Array or Float64Array
  k.sumSquares([1, 2]);
  return k.maxAbs(new Float32Array(1));
}
const optimizer: ClippedOptimizer = withGradientClipping(tf.train.sgd(0.1), options);
const monitor = new GradientMonitor();

async function main(): Promise<void> {
  await tf.setBackend("cpu");
  const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] });
  model.compile({ optimizer, loss: "meanSquaredError" });
  const history = await model.fit(tf.ones([4, 2]), tf.ones([4, 1]), {
    epochs: 2, batchSize: 2, verbose: 0,
    callbacks: [gradNormCallback(optimizer), gradientMonitorCallback(optimizer, monitor)],
  });
  await model.fit(tf.ones([4, 2]), tf.ones([4, 1]), { epochs: 1, verbose: 0, callbacks: gradNormCallback(optimizer) });
  console.log(JSON.stringify({
    norm, normType, typeOnly: typeof neverCalled, kernelsTypeOnly: typeof kernelsNeverCalled, simd: typeof simd, epochs: history.history["grad_norm"]?.length,
    steps: monitor.records.length, isError: new NonFiniteNormError(Infinity, 2) instanceof Error,
  }));
}
void main();
`;

interface Mode {
  readonly name: string;
  /** The consumer project's package.json type. */
  readonly type: "module" | "commonjs";
  readonly options: ts.CompilerOptions;
  /** Emitted and run with node: once as ES module, once as CommonJS (the others emit the same kinds of code). */
  readonly runs: boolean;
}

const K = ts.ModuleKind,
  R = ts.ModuleResolutionKind;
const MODES: readonly Mode[] = [
  {
    name: "nodenext, ES module",
    type: "module",
    options: { module: K.NodeNext, moduleResolution: R.NodeNext },
    runs: true,
  },
  {
    name: "nodenext, CommonJS",
    type: "commonjs",
    options: { module: K.NodeNext, moduleResolution: R.NodeNext },
    runs: true,
  },
  { name: "node16, ES module", type: "module", options: { module: K.Node16, moduleResolution: R.Node16 }, runs: false },
  {
    name: "node16, CommonJS",
    type: "commonjs",
    options: { module: K.Node16, moduleResolution: R.Node16 },
    runs: false,
  },
  { name: "bundler", type: "module", options: { module: K.ESNext, moduleResolution: R.Bundler }, runs: false },
  {
    name: "node10, CommonJS",
    type: "commonjs",
    options: { module: K.CommonJS, moduleResolution: R.Node10 },
    runs: false,
  },
];

const COMMON: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: false,
  esModuleInterop: true,
};

// One parse of each file for all the programs (lib.dom.d.ts and tfjs's types are most of the work).
const parsed = new Map<string, ts.SourceFile | undefined>();
function cachingHost(options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    if (!/[\\/]node_modules[\\/]|[\\/]lib\.[^\\/]*\.d\.ts$/.test(fileName))
      return getSourceFile(fileName, languageVersion, onError, shouldCreate);
    const key = `${fileName}\0${JSON.stringify(languageVersion)}`;
    if (!parsed.has(key)) parsed.set(key, getSourceFile(fileName, languageVersion, onError, shouldCreate));
    return parsed.get(key);
  };
  return host;
}

/** Diagnostics of the consumer and of gradclip's .d.ts files (other libraries' types are theirs to check). */
function diagnostics(program: ts.Program): string[] {
  const ours = program
    .getSourceFiles()
    .filter(
      (f) =>
        !f.fileName.includes(`${sep}node_modules${sep}`.replace(/\\/g, "/")) ||
        /\/node_modules\/gradclip\//.test(f.fileName),
    );
  const all = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...ours.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
  ];
  return all.map((d) => {
    const where = d.file
      ? `${d.file.fileName.replace(/^.*\/node_modules\//, "node_modules/")}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
      : "";
    return `TS${d.code} ${where} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
}

for (const mode of MODES) {
  test(`a TypeScript consumer type-checks under ${mode.name} (strict, exactOptionalPropertyTypes)${mode.runs ? " and runs" : ""}`, () => {
    const scratch = scratchDir(fullProject());
    try {
      const dir = scratch.dir;
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "ts-consumer", private: true, type: mode.type }));
      writeFileSync(join(dir, "index.ts"), CONSUMER);
      const options: ts.CompilerOptions = { ...COMMON, ...mode.options, outDir: join(dir, "out"), noEmit: !mode.runs };
      const program = ts.createProgram({ rootNames: [join(dir, "index.ts")], options, host: cachingHost(options) });
      assert.deepEqual(diagnostics(program), []);
      if (!mode.runs) return;
      mkdirSync(join(dir, "out"), { recursive: true });
      const emitted = program.emit();
      assert.equal(emitted.emitSkipped, false);
      const r = run(process.execPath, [join(dir, "out/index.js")], { cwd: dir });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim()) as {
        norm: number;
        simd: string;
        epochs: number;
        steps: number;
        isError: boolean;
      };
      assert.equal(out.norm, 5);
      assert.equal(out.simd, "boolean", "gradclip/extend runs from the consumer");
      assert.equal(out.epochs, 2, "grad_norm logged per epoch");
      assert.equal(out.steps, 4, "the monitor saw every step of the first fit");
      assert.equal(out.isError, true);
    } finally {
      scratch.remove();
    }
  });
}
