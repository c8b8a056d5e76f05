/**
 * Shared helpers for the conformance tests: loading fixture files in the
 * format of ../shared/conformance/README.md, the README's tolerance rule, and
 * every input form the typed-array functions accept.
 */
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Grad, Grads, GradSource } from "../../src/arrays/grads.js";

export type JsonNumber = number | "NaN" | "Infinity" | "-Infinity";

export interface GradSpec {
  dtype: "float32" | "float64";
  shape: number[];
  data: JsonNumber[];
}

export interface Tolerance {
  rtol: number;
  atol: number;
}

export interface FixtureCase {
  kind: string;
  fn: "clipGradNorm_" | "clipGradValue_";
  grads: (GradSpec | null)[];
  maxNorm?: JsonNumber;
  normType?: JsonNumber;
  errorIfNonfinite?: boolean;
  clipValue?: JsonNumber;
  expected: { totalNorm?: JsonNumber; grads?: (JsonNumber[] | null)[]; error?: string };
  note?: string;
}

export interface Fixture {
  tolerance: Tolerance;
  cases: FixtureCase[];
}

/** The repository root (test/arrays/ is two levels below it). */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** The shared conformance file: ../shared/conformance beside the repository, as CI clones it. */
export const sharedConformancePath = fileURLToPath(
  new URL("../../../../../shared/conformance/pytorch-clip-grad.json", import.meta.url),
);
export const extraConformancePath = fileURLToPath(new URL("../fixtures/extra-clip-grad.json", import.meta.url));

export function loadFixture(path: string): Fixture {
  if (!existsSync(path)) {
    throw new Error(`conformance file ${path} is missing: clone the shared/ folder beside the repository`);
  }
  return JSON.parse(readFileSync(path, "utf8")) as Fixture;
}

export function num(x: JsonNumber): number {
  if (x === "NaN") return NaN;
  if (x === "Infinity") return Infinity;
  if (x === "-Infinity") return -Infinity;
  return x;
}

export function makeGrad(spec: GradSpec): Grad {
  const values = spec.data.map(num);
  const expectedLength = spec.shape.reduce((a, b) => a * b, 1);
  if (values.length !== expectedLength) throw new Error(`bad fixture: ${values.length} values for shape ${spec.shape}`);
  return spec.dtype === "float32" ? Float32Array.from(values) : Float64Array.from(values);
}

/** The README's rule: |a - e| <= atol + rtol * |e|, NaN equal to NaN, infinities equal by sign. */
export function close(actual: number, expected: number, tol: Tolerance): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  return Math.abs(actual - expected) <= tol.atol + tol.rtol * Math.abs(expected);
}

/** The first mismatch between `actual` and `expected`, or null. */
export function mismatch(actual: ArrayLike<number>, expected: readonly number[], tol: Tolerance): string | null {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    if (!close(actual[i]!, expected[i]!, tol)) return `[${i}] = ${actual[i]}, expected ${expected[i]}`;
  }
  return null;
}

/** True when two arrays hold the same bits (NaN equal to NaN, -0 distinct from 0). */
export function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/**
 * One way of handing the gradients to a function. `build` gets fresh arrays
 * (null where a parameter has no gradient) and returns the argument to pass;
 * the arrays are then read back to check the in-place result.
 */
export interface InputForm {
  name: string;
  /** Whether this form can express the given list (e.g. "single" needs exactly one entry). */
  applies(grads: readonly (Grad | null)[]): boolean;
  build(grads: readonly (Grad | null)[]): Grads;
}

function* generate(sources: readonly GradSource[]): Generator<GradSource> {
  yield* sources;
}

/** A generator that fails the test if it is iterated a second time. */
function onceOnly(sources: readonly GradSource[]): Iterable<GradSource> {
  const gen = generate(sources);
  let started = false;
  return {
    [Symbol.iterator]() {
      if (started) throw new Error("the generator was iterated twice");
      started = true;
      return gen;
    },
  };
}

export const inputForms: readonly InputForm[] = [
  { name: "array of typed arrays with null", applies: () => true, build: (g) => [...g] },
  { name: "array with undefined", applies: () => true, build: (g) => g.map((x) => x ?? undefined) },
  {
    name: "{ grad } objects",
    applies: () => true,
    build: (g) => g.map((x, i) => ({ grad: x ?? (i % 2 === 0 ? null : undefined) })),
  },
  { name: "generator (consumed once)", applies: () => true, build: (g) => onceOnly(g) },
  {
    name: "generator of mixed sources",
    applies: () => true,
    build: (g) => generate(g.map((x, i) => (i % 2 === 0 ? x : { grad: x }))),
  },
  { name: "Set", applies: (g) => new Set(g.filter((x) => x !== null)).size === g.filter((x) => x !== null).length, build: (g) => new Set(g) },
  { name: "single typed array", applies: (g) => g.length === 1 && g[0] !== null, build: (g) => g[0]! },
  { name: "single { grad }", applies: (g) => g.length === 1, build: (g) => ({ grad: g[0] }) },
  { name: "single null", applies: (g) => g.length === 1 && g[0] === null, build: () => null },
];

export function formsFor(grads: readonly (Grad | null)[]): InputForm[] {
  return inputForms.filter((f) => f.applies(grads));
}
