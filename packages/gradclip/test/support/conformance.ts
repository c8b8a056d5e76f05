/**
 * The conformance files in the format of ../shared/conformance/README.md:
 * the shared PyTorch cases and test/fixtures/extra-clip-grad.json
 * (gen_extra.py), their types, and their JSON encoding of non-finite numbers.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Grad } from "../../src/arrays/grads.js";
import type { Tolerance } from "./tolerance.js";

/** A number as the files write it: non-finite values as strings. */
export type JsonNumber = number | "NaN" | "Infinity" | "-Infinity";

export interface GradSpec {
  dtype: "float32" | "float64";
  shape: number[];
  data: JsonNumber[];
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

/** The shared conformance file: ../shared/conformance beside the repository, as CI clones it. */
export const sharedConformancePath = fileURLToPath(
  new URL("../../../../../shared/conformance/pytorch-clip-grad.json", import.meta.url),
);
export const extraConformancePath = fileURLToPath(new URL("../fixtures/extra-clip-grad.json", import.meta.url));

/** The file at `path`; an Error saying how to get it when it is missing. */
export function loadFixture(path: string): Fixture {
  if (!existsSync(path)) {
    throw new Error(`conformance file ${path} is missing: clone the shared/ folder beside the repository`);
  }
  return JSON.parse(readFileSync(path, "utf8")) as Fixture;
}

/** The file at `path`, or null when it is missing (for tests that skip without it). */
export function loadFixtureIfPresent(path: string): Fixture | null {
  return existsSync(path) ? loadFixture(path) : null;
}

/** A file's number as a number; an Error for anything else (an absent field included). */
export function num(x: JsonNumber | undefined): number {
  if (typeof x === "number") return x;
  if (x === "NaN") return NaN;
  if (x === "Infinity") return Infinity;
  if (x === "-Infinity") return -Infinity;
  throw new Error(`not a number: ${String(x)}`);
}

/** The gradient a spec describes, as a fresh array of its dtype. */
export function makeGrad(spec: GradSpec): Grad {
  const values = spec.data.map(num);
  const expectedLength = spec.shape.reduce((a, b) => a * b, 1);
  if (values.length !== expectedLength) throw new Error(`bad fixture: ${values.length} values for shape ${spec.shape}`);
  return spec.dtype === "float32" ? Float32Array.from(values) : Float64Array.from(values);
}
