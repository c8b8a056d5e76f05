/**
 * The tools CommonJS users run their code under, on the installed tarballs:
 * Jest (its own module resolver, the "require" condition) and ts-node
 * (TypeScript compiled to CommonJS and type-checked against the CommonJS
 * build's declarations, under moduleResolution node10 and node16). Each
 * tool is fetched from the npm registry by npx (cached by npm after the
 * first run); where it cannot be had (offline, empty cache) the case is
 * skipped with a diagnostic, as node-versions.test.ts does for Node builds.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { fullProject, run, scratchDir } from "./packed.js";

/** `npx --package P... -- bin args` in `cwd`. */
function npx(packages: readonly string[], bin: string, args: readonly string[], cwd: string) {
  const pkgArgs = packages.flatMap((p) => ["--package", p]);
  return run("npx", ["--prefer-offline", "--yes", ...pkgArgs, "--", bin, ...args], { cwd });
}

/** Whether npx can run `bin` from `packages` here; else the test is skipped with the reason. */
function available(t: TestContext, packages: readonly string[], bin: string, cwd: string): boolean {
  const r = npx(packages, bin, ["--version"], cwd);
  if (r.status === 0) return true;
  t.skip(`${packages.join(" ")} not available from npm (exit ${r.status}): ${r.stderr.trim().split("\n").pop() ?? ""}`);
  return false;
}

const JEST_TEST = `
const tf = require("@tensorflow/tfjs-core");
require("@tensorflow/tfjs-backend-cpu");
const gradclip = require("gradclip");
const gtf = require("gradclip/tfjs");

test("gradclip and gradclip/tfjs under Jest", async () => {
  expect(require.resolve("gradclip")).toMatch(/dist[\\\\/]cjs[\\\\/]index\\.js$/);
  expect(require.resolve("gradclip/tfjs")).toMatch(/dist[\\\\/]cjs[\\\\/]tfjs[\\\\/]index\\.js$/);
  await tf.setBackend("cpu");
  const g = new Float32Array([3, 4]);
  expect(gradclip.clipGradNorm_([g], 1)).toBe(5);
  expect(g[0]).toBeCloseTo(0.6, 6);
  const grads = { w: tf.tensor1d([3, 4]) };
  expect(gtf.clipGradNorm_(grads, 1).dataSync()[0]).toBe(5);
  expect(grads.w.dataSync()[1]).toBeCloseTo(0.8, 6);
  expect(gtf.withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 })).toBeInstanceOf(gtf.ClippedOptimizer);
  expect(() => gradclip.clipGradNorm_([g], 1, { normTyp: 2 })).toThrow(/normType/);
});
`;

for (const jest of ["jest@29", "jest@30"]) {
  test(`${jest} runs a CommonJS test file that requires gradclip and gradclip/tfjs`, (t) => {
    const scratch = scratchDir(fullProject(), {
      "package.json": `${JSON.stringify({ name: "jest-case", private: true })}\n`,
      "clip.test.js": JEST_TEST,
    });
    try {
      if (!available(t, [jest], "jest", scratch.dir)) return;
      const r = npx([jest], "jest", ["--rootDir", ".", "--ci", "--colors=false"], scratch.dir);
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /Tests:\s+1 passed, 1 total/);
    } finally {
      scratch.remove();
    }
  });
}

const TS_CONSUMER = `
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { clipGradNorm_ } from "gradclip";
import * as gtf from "gradclip/tfjs";

async function main(): Promise<void> {
  await tf.setBackend("cpu");
  const g = new Float32Array([3, 4]);
  const norm: number = clipGradNorm_([g], 1);
  const grads: tf.NamedTensorMap = { w: tf.tensor1d([3, 4]) };
  const total: tf.Scalar = gtf.clipGradNorm_(grads, 1);
  const opt = gtf.withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 });
  console.log(JSON.stringify({
    norm, tfNorm: total.dataSync()[0], clipped: Array.from(grads.w!.dataSync()),
    wrapped: opt instanceof gtf.ClippedOptimizer, resolved: require.resolve("gradclip"),
  }));
}
void main();
`;

/** The same program with a type error against gradclip's declarations: ts-node must refuse it. */
const TS_TYPE_ERROR = TS_CONSUMER.replace("clipGradNorm_([g], 1);", 'clipGradNorm_([g], "1");');

const TS_NODE = ["ts-node@10", "typescript@5", "@types/node@20"];

for (const [module, moduleResolution] of [
  ["commonjs", "node10"],
  ["node16", "node16"],
] as const) {
  test(`ts-node (module ${module}, moduleResolution ${moduleResolution}) type-checks and runs a CommonJS consumer`, (t) => {
    const tsconfig = { compilerOptions: { strict: true, module, moduleResolution, target: "es2020", types: ["node"] } };
    const scratch = scratchDir(fullProject(), {
      "package.json": `${JSON.stringify({ name: "ts-node-case", private: true })}\n`,
      "tsconfig.json": `${JSON.stringify(tsconfig)}\n`,
      "consumer.ts": TS_CONSUMER,
      "wrong.ts": TS_TYPE_ERROR,
    });
    try {
      if (!available(t, TS_NODE, "ts-node", scratch.dir)) return;
      const r = npx(TS_NODE, "ts-node", ["consumer.ts"], scratch.dir);
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
        norm: number;
        tfNorm: number;
        clipped: number[];
        wrapped: boolean;
        resolved: string;
      };
      assert.equal(out.norm, 5);
      assert.equal(out.tfNorm, 5);
      assert.ok(Math.abs(out.clipped[1]! - 0.8) < 1e-6, String(out.clipped));
      assert.equal(out.wrapped, true);
      assert.match(out.resolved, /dist[\\/]cjs[\\/]index\.js$/);
      // The checker ran against the declarations: a wrong argument type is an error, not a run.
      const wrong = npx(TS_NODE, "ts-node", ["wrong.ts"], scratch.dir);
      assert.notEqual(wrong.status, 0);
      assert.match(`${wrong.stdout}\n${wrong.stderr}`, /TS2345/);
    } finally {
      scratch.remove();
    }
  });
}
