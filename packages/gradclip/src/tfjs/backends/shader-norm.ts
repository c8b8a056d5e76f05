/**
 * Shader source for p-norms, generated from the core's combination: the
 * statements come from running `combineNormsWith` (src/core/combine.ts) over
 * shader-code "values", so a shader computes exactly the core's overflow-safe
 * s · (Σ (v_i / s)^p)^(1/p), s = max v_i (NaN wins, then Infinity), with the
 * core's p < 1 forms (terms v_i^p / s^p, root retaken as (s^p · Σ)^(1/p)
 * where Σ^(1/p) overflows) — the same recipe for a row of |g| (a partial
 * norm) and for combining partials.
 * Written for GLSL (WebGL) and WGSL (WebGPU) through a small dialect.
 */
import { clipCoefficientWith, type CoefficientOps } from "../../core/coefficient.js";
import { combineNormsWith, type NormCombineOps } from "../../core/combine.js";

/** The syntax differences between GLSL ES and WGSL that the generator needs. */
export interface ShaderDialect {
  /** A mutable float variable declaration. */
  float(name: string, init: string): string;
  /** A mutable bool variable declaration. */
  bool(name: string, init: string): string;
  /** `for j in [0, count)`; `bound` is a compile-time upper bound of `count` (GLSL ES needs one). */
  loop(j: string, bound: number, count: string, body: string): string;
  /** `cond ? a : b`. */
  select(cond: string, a: string, b: string): string;
  /** A NaN value (tfjs's shader preambles provide one). */
  readonly nan: string;
}

/** Integer variables and `min`, for the row-partials programs. */
export interface IndexDialect {
  int(name: string, init: string): string;
  min(a: string, b: string): string;
}

export const glsl: ShaderDialect & IndexDialect = {
  int: (n, init) => `int ${n} = ${init};`,
  min: (a, b) => `min(${a}, ${b})`,
  float: (n, init) => `float ${n} = ${init};`,
  bool: (n, init) => `bool ${n} = ${init};`,
  loop: (j, bound, count, body) => `for (int ${j} = 0; ${j} < ${bound}; ${j}++) { if (${j} >= ${count}) { break; } ${body} }`,
  select: (c, a, b) => `((${c}) ? (${a}) : (${b}))`,
  nan: "NAN",
};

export const wgsl: ShaderDialect & IndexDialect = {
  int: (n, init) => `var ${n} : i32 = ${init};`,
  min: (a, b) => `min(${a}, ${b})`,
  float: (n, init) => `var ${n} : f32 = ${init};`,
  bool: (n, init) => `var ${n} : bool = ${init};`,
  loop: (j, _bound, count, body) => `for (var ${j} : i32 = 0; ${j} < ${count}; ${j}++) { ${body} }`,
  select: (c, a, b) => `select(${b}, ${a}, ${c})`,
  nan: "uniforms.NAN",
};

/** A number as a float literal both languages accept. */
export function floatLiteral(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`gradclip: no shader literal for ${x}`);
  return Number.isInteger(x) && Math.abs(x) < 1e15 ? x.toFixed(1) : String(x);
}

/** A vector in shader code: `count` elements (an int expression, at most `bound`), element `j` is `load(j)` (>= 0 or NaN). */
export interface ShaderVector {
  readonly bound: number;
  readonly count: string;
  load(j: string): string;
}

/**
 * Statements that leave the p-norm of `v` (p > 0, Infinity allowed), as the
 * core combines non-negative values, in the float variable named by `result`.
 * A list of vectors is their concatenation, taken one loop per vector (no
 * choice of vector per element).
 */
export function normStatements(d: ShaderDialect, v: ShaderVector | readonly ShaderVector[], p: number, prefix: string): { code: string; result: string } {
  const lines: string[] = [];
  let serial = 0;
  const fresh = (name: string) => `${prefix}${name}${serial++}`;
  const P = p === Infinity ? "" : floatLiteral(p);
  /** One loop per vector, `body(j, vector)` inside. */
  const loops = (xs: readonly ShaderVector[], body: (j: string, x: ShaderVector) => string) => {
    for (const x of xs) {
      const j = fresh("j");
      lines.push(d.loop(j, x.bound, x.count, body(j, x)));
    }
  };
  const ops: NormCombineOps<readonly ShaderVector[], string> = {
    max(xs) {
      const m = fresh("max"), nan = fresh("nan"), a = fresh("a"), out = fresh("m");
      lines.push(d.float(m, "0.0"), d.bool(nan, "false"));
      // An explicit isnan (tfjs's bit-exact helper): max() and > may drop NaN.
      loops(xs, (j, x) => `${d.float(a, x.load(j))} if (isnan(${a})) { ${nan} = true; } else if (${a} > ${m}) { ${m} = ${a}; }`);
      lines.push(d.float(out, d.select(nan, d.nan, m)));
      return out;
    },
    safeScale(s) {
      const out = fresh("s");
      lines.push(d.float(out, d.select(`${s} > 0.0 && !isinf(${s})`, s, "1.0")));
      return out;
    },
    sumPowScaled(xs, s, pp) {
      const acc = fresh("acc"), r = fresh("r");
      // pow(0, p) and pow(NaN, p) are left undefined by GLSL: spell them out.
      const powOf = (y: string) => d.select(`isnan(${y})`, y, d.select(`${y} == 0.0`, "0.0", `pow(${y}, ${P})`));
      let load = (x: ShaderVector, j: string) => `${x.load(j)} / ${s}`;
      let term = pp === 2 ? `${r} * ${r}` : pp === 1 ? r : powOf(r);
      if (pp < 1) {
        // v^p / s^p: v / s may underflow where its p-th power still counts (see the core).
        const sp = fresh("sp");
        lines.push(d.float(sp, `pow(${s}, ${P})`));
        load = (x, j) => x.load(j);
        term = `${powOf(r)} / ${sp}`;
      }
      lines.push(d.float(acc, "0.0"));
      loops(xs, (j, x) => `${d.float(r, load(x, j))} ${acc} = ${acc} + ${term};`);
      return acc;
    },
    mulRoot(s, x, pp) {
      const out = fresh("n");
      if (pp >= 1) {
        lines.push(d.float(out, pp === 2 ? `${s} * sqrt(${x})` : pp === 1 ? `${s} * ${x}` : `${s} * pow(${x}, 1.0 / ${P})`));
        return out;
      }
      // Σ^(1/p) overflows for p < 1 where s · Σ^(1/p) may not: then (s^p · Σ)^(1/p), as the core does.
      const r = fresh("root");
      lines.push(d.float(r, `pow(${x}, 1.0 / ${P})`));
      lines.push(d.float(out, d.select(`isinf(${r})`, `pow(pow(${s}, ${P}) * ${x}, 1.0 / ${P})`, `${s} * ${r}`)));
      return out;
    },
  };
  const result = combineNormsWith(ops, Array.isArray(v) ? (v as readonly ShaderVector[]) : [v as ShaderVector], p);
  return { code: lines.join("\n"), result };
}

/** Row layout of a flat tensor of `n` elements for row partials: cols a power of two near sqrt(n). */
export function rowLayout(n: number): { rows: number; cols: number } {
  let cols = 1;
  while (cols * cols < n) cols *= 2;
  return { rows: Math.ceil(n / cols), cols };
}

/**
 * The core's clip coefficient `min(1, maxNorm / (total + 1e-6))` as one
 * shader expression over the float expression `total` (NaN passes through),
 * or null where `maxNorm` has no finite float32 literal (the caller then uses
 * tf ops).
 */
export function coefficientExpression(d: ShaderDialect, maxNorm: number, total: string): string | null {
  const m = Math.fround(maxNorm);
  if (!Number.isFinite(m)) return null;
  const ops: CoefficientOps<string> = {
    addConstant: (x, c) => `(${x} + ${floatLiteral(c)})`,
    divideConstantBy: (c, x) => `(${floatLiteral(Math.fround(c))} / ${x})`,
    // `x > max` is false for NaN: NaN passes through, as in the core.
    clampMax: (x, max) => d.select(`${x} > ${floatLiteral(max)}`, floatLiteral(max), x),
  };
  return clipCoefficientWith(ops, m, total);
}

/**
 * `clamp(x, -c, c)` with NaN kept, as the core's array kernel clamps
 * (`x > c ? c : x < -c ? -c : x`), as one shader expression over the float
 * expression `x` (evaluated more than once: pass a variable); `isnan` is
 * explicit because shader compilers may fold comparisons with NaN. Null
 * where `c` has no finite float32 literal.
 */
export function clampExpression(d: ShaderDialect, c: number, x: string): string | null {
  const m = Math.fround(c);
  if (!Number.isFinite(m) || m < 0) return null;
  const hi = floatLiteral(m);
  const lo = `(-${hi})`;
  return d.select(`isnan(${x})`, x, d.select(`${x} > ${hi}`, hi, d.select(`${x} < ${lo}`, lo, x)));
}

/**
 * Code that runs `body(k, local)` for the range `k` holding `index` among
 * consecutive ranges of `lengths` (`local` = index minus the range's start),
 * as a balanced tree of `if (index < start) { } else { }` (the same syntax in
 * GLSL and WGSL): log2(ranges) comparisons rather than one per range. The
 * last range is not bounded: `index` must be below the total.
 */
export function rangeBranches(index: string, lengths: readonly number[], body: (k: number, local: string) => string): string {
  const starts: number[] = [];
  lengths.reduce((at, len) => (starts.push(at), at + len), 0);
  return rangeBranchesAt(index, starts.map(String), body);
}

/** `rangeBranches` with the ranges' starts given as shader expressions (e.g. uniforms); `starts[0]` is 0. */
export function rangeBranchesAt(index: string, starts: readonly string[], body: (k: number, local: string) => string): string {
  const tree = (lo: number, hi: number): string => {
    if (hi - lo === 1) return body(lo, lo === 0 ? index : `(${index} - ${starts[lo]})`);
    const mid = (lo + hi) >> 1;
    return `if (${index} < ${starts[mid]}) { ${tree(lo, mid)} } else { ${tree(mid, hi)} }`;
  };
  return starts.length === 0 ? "" : tree(0, starts.length);
}

/**
 * Per-input row layouts of a row-partials program over inputs of `lengths`
 * values: input k's rows are output rows [Σ rows_<k, Σ rows_≤k), each of
 * `cols_k` values (the last row of an input may be shorter).
 */
export function rowLayouts(lengths: readonly number[]): { n: number; rows: number; cols: number }[] {
  return lengths.map((n) => ({ n, ...rowLayout(n) }));
}

/** Which per-input number of a row-partials program a shader constant stands for. */
export type RowParameter = "n" | "cols" | "rowEnd";

/**
 * The body of a row-partials program: a branch on the output row `row`
 * (log2(inputs) comparisons) to the block of the input it belongs to, which
 * takes that row's `start` and `count` and its p-norm over
 * `load(k, start + j)` (`k` the input's index as a literal, so that `load`
 * can name its sampler or buffer; the raw value: its absolute value is
 * taken here), left in the variable named by `result`. One block per input
 * rather than one block choosing an input per value: under SwiftShader
 * the choice per value made the norms of GPT-2 small's shapes up to 4x
 * slower with 32 inputs (the time grew with the inputs), a branch per row
 * did not (and compiled 4x faster on webgpu). Input k's value count,
 * row length and end row (Σ rows_≤k) are literals, or the expressions
 * `parameter(what, k, value)` returns (uniforms: then the program does not
 * depend on the sizes; GLSL's loop bounds are still the row lengths).
 */
export function rowPartialStatements(
  d: ShaderDialect & IndexDialect,
  row: string,
  lengths: readonly number[],
  p: number,
  load: (k: number, index: string) => string,
  parameter: (what: RowParameter, k: number, value: number) => string = (_what, _k, value) => String(value),
): { code: string; result: string } {
  const layouts = rowLayouts(lengths);
  const ends: number[] = [];
  layouts.reduce((at, l) => (ends.push(at + l.rows), at + l.rows), 0);
  const starts = layouts.map((_, k) => (k === 0 ? "0" : parameter("rowEnd", k - 1, ends[k - 1]!)));
  const pick = rangeBranchesAt(row, starts, (k, local) => {
    const cols = parameter("cols", k, layouts[k]!.cols);
    const { code, result } = normStatements(d, { bound: layouts[k]!.cols, count: "count", load: (j) => `abs(${load(k, `start + ${j}`)})` }, p, `g${k}_`);
    return `start = ${local} * ${cols}; count = ${d.min(cols, `${parameter("n", k, layouts[k]!.n)} - start`)}; ${code} result = ${result};`;
  });
  return { code: [d.int("start", "0"), d.int("count", "0"), d.float("result", "0.0"), pick].join("\n"), result: "result" };
}
