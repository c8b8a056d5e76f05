/**
 * PyTorch conformance: every case of ../shared/conformance/pytorch-clip-grad.json
 * and of test/fixtures/extra-clip-grad.json (gen_extra.py), through every
 * accepted input form, for clipGradNorm_, getTotalNorm + clipGradsWithNorm_,
 * and clipGradValue_.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  clipGradNorm_,
  clipGradsWithNorm_,
  clipGradValue_,
  getTotalNorm,
  NonFiniteNormError,
} from "../../src/index.js";
import type { Grad } from "../../src/arrays/grads.js";
import type { NormType } from "../../src/core/validate.js";
import {
  extraConformancePath,
  loadFixture,
  makeGrad,
  num,
  sharedConformancePath,
  type FixtureCase,
} from "../support/conformance.js";
import { close, mismatch, sameBits, type Tolerance } from "../support/tolerance.js";
import { formsFor } from "./fixture-support.js";

function freshGrads(c: FixtureCase): (Grad | null)[] {
  return c.grads.map((spec) => (spec ? makeGrad(spec) : null));
}

function checkGrads(c: FixtureCase, actual: readonly (Grad | null)[], tol: Tolerance, label: string): void {
  const expected = c.expected.grads!;
  assert.equal(actual.length, expected.length, `${label}: number of grads`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    if (e === null || e === undefined) {
      assert.equal(actual[i], null, `${label}: grad ${i} should stay null`);
      continue;
    }
    const bad = mismatch(actual[i]!, e.map(num), tol);
    assert.equal(bad, null, `${label}: grad ${i}: ${bad}`);
  }
}

/** The fixture's normType as an option; Infinity is also passed as "inf" on alternate forms. */
function normTypeOf(c: FixtureCase, formIndex: number): NormType | undefined {
  if (c.normType === undefined) return undefined;
  const p = num(c.normType);
  return p === Infinity && formIndex % 2 === 1 ? "inf" : p;
}

function runNormCase(c: FixtureCase, tol: Tolerance): void {
  const maxNorm = num(c.maxNorm!);
  const forms = formsFor(freshGrads(c));
  assert.ok(forms.length >= 5, "every case runs through several input forms");
  forms.forEach((form, formIndex) => {
    const label = `${c.kind} via ${form.name}`;
    const grads = freshGrads(c);
    const originals = grads.map((g) => g?.slice() ?? null);
    const options = { normType: normTypeOf(c, formIndex), errorIfNonfinite: c.errorIfNonfinite };

    if (c.expected.error !== undefined) {
      assert.equal(c.expected.error, "nonfinite");
      assert.throws(
        () => clipGradNorm_(form.build(grads), maxNorm, options),
        (err: unknown) =>
          err instanceof NonFiniteNormError && err.name === "NonFiniteNormError" && !Number.isFinite(err.totalNorm),
        label,
      );
      grads.forEach((g, i) => assert.ok(g === null || sameBits(g, originals[i]!), `${label}: grad ${i} was modified`));
      return;
    }

    const total = clipGradNorm_(form.build(grads), maxNorm, options);
    const expectedTotal = num(c.expected.totalNorm!);
    assert.ok(close(total, expectedTotal, tol), `${label}: totalNorm ${total}, expected ${expectedTotal}`);
    checkGrads(c, grads, tol, label);
  });
}

/** The two-step API must give the same result as clipGradNorm_. */
function runTwoStepCase(c: FixtureCase, tol: Tolerance): void {
  const grads = freshGrads(c);
  const options = { normType: normTypeOf(c, 0), errorIfNonfinite: c.errorIfNonfinite };
  if (c.expected.error !== undefined) {
    const originals = grads.map((g) => g?.slice() ?? null);
    assert.throws(() => getTotalNorm(grads, options), NonFiniteNormError);
    grads.forEach((g, i) => assert.ok(g === null || sameBits(g, originals[i]!), `grad ${i} was modified`));
    return;
  }
  const total = getTotalNorm(grads, options);
  assert.ok(close(total, num(c.expected.totalNorm!), tol), `getTotalNorm ${total}, expected ${c.expected.totalNorm}`);
  clipGradsWithNorm_(grads, num(c.maxNorm!), total);
  checkGrads(c, grads, tol, `${c.kind} via getTotalNorm + clipGradsWithNorm_`);
}

function runValueCase(c: FixtureCase, tol: Tolerance): void {
  const clipValue = num(c.clipValue!);
  for (const form of formsFor(freshGrads(c))) {
    const grads = freshGrads(c);
    clipGradValue_(form.build(grads), clipValue);
    checkGrads(c, grads, tol, `${c.kind} via ${form.name}`);
  }
}

for (const [name, path] of [
  ["shared PyTorch conformance", sharedConformancePath],
  ["extra PyTorch conformance (test/fixtures)", extraConformancePath],
] as const) {
  describe(name, () => {
    const fixture = loadFixture(path);

    test("the file holds cases of both functions", () => {
      assert.ok(fixture.cases.some((c) => c.fn === "clipGradNorm_"));
      assert.ok(fixture.cases.some((c) => c.fn === "clipGradValue_"));
      assert.ok(fixture.cases.some((c) => c.expected.error === "nonfinite"));
    });

    fixture.cases.forEach((c, i) => {
      test(`#${i} ${c.fn} ${c.kind}`, () => {
        if (c.fn === "clipGradNorm_") {
          runNormCase(c, fixture.tolerance);
          runTwoStepCase(c, fixture.tolerance);
        } else {
          assert.equal(c.fn, "clipGradValue_");
          runValueCase(c, fixture.tolerance);
        }
      });
    });
  });
}
