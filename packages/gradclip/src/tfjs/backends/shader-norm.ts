/**
 * Shader source for p-norms, generated from the core's combination: the
 * statements come from running the core's `NormCombineOps` recipe
 * (src/core/combine.ts: `combineNormsWith`, `mergePartsWith`) over
 * shader-code "values", so a shader computes exactly the core's
 * overflow-safe s · (Σ (v_i / s)^p)^(1/p), s = max v_i (NaN wins, then
 * Infinity), with the core's p < 1 forms (terms v_i^p / s^p, root retaken
 * as (s^p · Σ)^(1/p) where Σ^(1/p) overflows).
 *
 * Between programs a norm travels as a norm part (scale, sum), power sum
 * scale^p · sum, so that no stored value overflows where the norm does (a
 * float32 total beyond 3.4e38, or any norm of many values at small p):
 * `normalizedPart` stores (norm, 1) where the norm is at most `STORE_MAX`
 * (so 16-bit textures hold what they held before) and (max, sum) beyond.
 * Rows of |g| give parts, parts of rows merge into parts, and the last merge
 * gives the total with its part; the clip coefficient is computed from the
 * part (`coefficientStatements`) as two factors, both normal floats, so
 * that a coefficient below float32's normal range (which GPUs flush to 0)
 * still scales the gradients right.
 * Written for GLSL (WebGL) and WGSL (WebGPU) through a small dialect.
 */
import { CLIP_EPSILON } from "../../core/coefficient.js";
import type { NormCombineOps } from "../../core/combine.js";

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
  loop: (j, bound, count, body) =>
    `for (int ${j} = 0; ${j} < ${bound}; ${j}++) { if (${j} >= ${count}) { break; } ${body} }`,
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

/**
 * A vector in shader code: `count` elements (an int expression, at most
 * `bound`), element `j` is `load(j)` (>= 0 or NaN). With `sum`, element `j`
 * is the norm part (scale `load(j)`, sum `sum(j)`), power sum
 * scale^p · sum, as `normalizedPart` stores it.
 */
export interface ShaderVector {
  readonly bound: number;
  readonly count: string;
  load(j: string): string;
  sum?(j: string): string;
}

/**
 * The largest norm stored as (norm, 1): float16's largest finite value, so
 * that a part is stored as the norm itself wherever a 16-bit texture holds
 * that norm (as before parts); beyond it, as (max, sum), sum in [1, count].
 */
export const STORE_MAX = 65504;

/** A norm part in shader code: float expressions (variables) `scale` (the raw max) and `sum`, and its norm. */
export interface ShaderPart {
  readonly scale: string;
  readonly sum: string;
  readonly norm: string;
}

/**
 * Statements that leave the merged norm part of `v` (a list of vectors is
 * their concatenation, taken one loop per vector: no choice of vector per
 * element) for p > 0, Infinity allowed: `scale` the largest value or part
 * scale (NaN wins, then Infinity; 0 when all are 0), `sum` the scaled sum
 * Σ (v_i / s)^p (for parts Σ sum_i · (scale_i / s)^p), s = `scale` where it
 * is finite and > 0, else 1; `norm` = s · sum^(1/p), the core's
 * combination (Infinity where it exceeds float32). For p = Infinity, sum is 1
 * and norm = scale.
 */
export function partStatements(
  d: ShaderDialect,
  v: ShaderVector | readonly ShaderVector[],
  p: number,
  prefix: string,
): { code: string; part: ShaderPart } {
  const lines: string[] = [];
  let serial = 0;
  const fresh = (name: string) => `${prefix}${name}${serial++}`;
  const P = p === Infinity ? "" : floatLiteral(p);
  const vectors = Array.isArray(v) ? (v as readonly ShaderVector[]) : [v as ShaderVector];
  /** One loop per vector, `body(j, vector)` inside. */
  const loops = (xs: readonly ShaderVector[], body: (j: string, x: ShaderVector) => string) => {
    for (const x of xs) {
      const j = fresh("j");
      lines.push(d.loop(j, x.bound, x.count, body(j, x)));
    }
  };
  const ops: NormCombineOps<readonly ShaderVector[], string> = {
    max(xs) {
      const m = fresh("max"),
        nan = fresh("nan"),
        a = fresh("a"),
        out = fresh("m");
      lines.push(d.float(m, "0.0"), d.bool(nan, "false"));
      // An explicit isnan (tfjs's bit-exact helper): max() and > may drop NaN.
      loops(
        xs,
        (j, x) => `${d.float(a, x.load(j))} if (isnan(${a})) { ${nan} = true; } else if (${a} > ${m}) { ${m} = ${a}; }`,
      );
      lines.push(d.float(out, d.select(nan, d.nan, m)));
      return out;
    },
    safeScale(s) {
      const out = fresh("s");
      lines.push(d.float(out, d.select(`${s} > 0.0 && !isinf(${s})`, s, "1.0")));
      return out;
    },
    sumPowScaled(xs, s, pp, weights) {
      const acc = fresh("acc"),
        r = fresh("r");
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
      if (weights) {
        // A part's weight is its sum; a zero one adds 0 (not 0 · NaN).
        const w = fresh("w");
        loops(
          xs,
          (j, x) =>
            `${d.float(r, load(x, j))} ${d.float(w, x.sum!(j))} ${acc} = ${acc} + ${d.select(`${w} == 0.0`, "0.0", `${w} * (${term})`)};`,
        );
      } else {
        loops(xs, (j, x) => `${d.float(r, load(x, j))} ${acc} = ${acc} + ${term};`);
      }
      return acc;
    },
    mulRoot(s, x, pp) {
      const out = fresh("n");
      if (pp >= 1) {
        lines.push(
          d.float(out, pp === 2 ? `${s} * sqrt(${x})` : pp === 1 ? `${s} * ${x}` : `${s} * pow(${x}, 1.0 / ${P})`),
        );
        return out;
      }
      // Σ^(1/p) overflows for p < 1 where s · Σ^(1/p) may not: then (s^p · Σ)^(1/p), as the core does.
      const r = fresh("root");
      lines.push(d.float(r, `pow(${x}, 1.0 / ${P})`));
      lines.push(d.float(out, d.select(`isinf(${r})`, `pow(pow(${s}, ${P}) * ${x}, 1.0 / ${P})`, `${s} * ${r}`)));
      return out;
    },
  };
  const weighted = vectors.length > 0 && vectors.every((x) => x.sum !== undefined);
  if (!weighted && vectors.some((x) => x.sum !== undefined))
    throw new Error("gradclip: internal error: vectors of parts and of values mixed.");
  // The core's recipe (combineNormsWith for values, mergePartsWith for parts), keeping the raw largest scale:
  // a merged part of zeros keeps scale 0, so a later merge does not scale tiny parts against 1.
  const largest = ops.max(vectors);
  if (p === Infinity) return { code: lines.join("\n"), part: { scale: largest, sum: "1.0", norm: largest } };
  const scale = ops.safeScale(largest);
  const sum = ops.sumPowScaled(vectors, scale, p, weighted ? vectors : undefined);
  const norm = ops.mulRoot(scale, sum, p);
  return { code: lines.join("\n"), part: { scale: largest, sum, norm } };
}

/** Statements that leave the p-norm of `v` (values, or parts) in the float variable named by `result` (see `partStatements`). */
export function normStatements(
  d: ShaderDialect,
  v: ShaderVector | readonly ShaderVector[],
  p: number,
  prefix: string,
): { code: string; result: string } {
  const { code, part } = partStatements(d, v, p, prefix);
  return { code, result: part.norm };
}

/**
 * Statements that leave `part` as it is stored: (norm, 1) where the norm is
 * at most `STORE_MAX`, else (scale, sum) (NaN and Infinity in the scale);
 * (scale, 1) for p = Infinity. Both stand for the same power sum.
 */
export function normalizedPart(
  d: ShaderDialect,
  part: ShaderPart,
  p: number,
  prefix: string,
): { code: string; scale: string; sum: string } {
  if (p === Infinity) return { code: "", scale: part.scale, sum: "1.0" };
  const small = `${prefix}small`,
    scale = `${prefix}scale`,
    sum = `${prefix}sum`;
  return {
    code: [
      d.bool(small, `${part.norm} <= ${floatLiteral(STORE_MAX)}`),
      d.float(scale, d.select(small, part.norm, part.scale)),
      d.float(sum, d.select(small, "1.0", part.sum)),
    ].join("\n"),
    scale,
    sum,
  };
}

/**
 * `partStatements` followed by `normalizedPart` (prefixes `prefix` and
 * `storedPrefix`): `code` leaves the merged part of `v` as it is stored in
 * `scale` and `sum`; `norm` is its norm (see `partStatements`).
 */
export function storedPartStatements(
  d: ShaderDialect,
  v: ShaderVector | readonly ShaderVector[],
  p: number,
  prefix: string,
  storedPrefix: string,
): { code: string; norm: string; scale: string; sum: string } {
  const { code, part } = partStatements(d, v, p, prefix);
  const stored = normalizedPart(d, part, p, storedPrefix);
  return { code: `${code} ${stored.code}`, norm: part.norm, scale: stored.scale, sum: stored.sum };
}

/** Row layout of a flat tensor of `n` elements for row partials: cols a power of two near sqrt(n). */
export function rowLayout(n: number): { rows: number; cols: number } {
  let cols = 1;
  while (cols * cols < n) cols *= 2;
  return { rows: Math.ceil(n / cols), cols };
}

/** What `coefficientStatements` makes: statements, and the expressions of the coefficient and its factors. */
export interface CoefficientStatements {
  readonly code: string;
  readonly coefficient: string;
  readonly factors: [string, string];
  readonly usesPart: boolean;
}

/** 2^-64: the first factor of a two-factor coefficient (see `coefficientStatements`). */
export const TWO_STEP_FACTOR = 2 ** -64;

/**
 * A coefficient below this (twice float32's smallest normal number 2^-126)
 * is applied as two factors; above it, as itself.
 */
const TWO_STEP_BELOW = 2 ** -125;

/**
 * The core's clip coefficient `min(1, maxNorm / (total + 1e-6))` as shader
 * statements, and as two factors (a, b) to scale by as (g · a) · b. With
 * `part` (the total's norm part `{ scale, sum }`, power sum
 * scale^p · sum · `count`, p finite), where the float32 total is Infinity
 * but the part is finite, the coefficient is the core's
 * `clipCoefficientOfPartWith`: min(1, maxNorm / (scale · (sum · count)^(1/p))),
 * formed without the product. Where the coefficient is at least 2^-125 the
 * factors are (coefficient, 1); below it (near or in float32's subnormal
 * range, which GPUs flush to 0) they are (2^-64, coefficient · 2^64), the
 * second formed without a subnormal intermediate:
 * maxNorm / ((total + 1e-6) · 2^-64), or
 * maxNorm / ((scale · 2^-64) · (sum · count)^(1/p)) from the part (p >= 1;
 * for p < 1 through log2, accurate to about 1e-5 there). Coefficients below
 * 2^-190 still give 0. NaN passes through; a total of Infinity without a
 * finite part gives 0 (as in the core). `coefficient` is the plain float32
 * value (a GPU may flush it to 0 where it is subnormal). `usesPart`:
 * whether the statements read the part (not for p = Infinity or maxNorm 0;
 * a WebGPU program must bind only what it reads). Null where `maxNorm` has
 * no finite float32 literal (the caller then uses tf ops).
 */
export function coefficientStatements(
  d: ShaderDialect,
  maxNorm: number,
  total: string,
  part: { readonly scale: string; readonly sum: string; readonly count: number; readonly p: number } | null,
  prefix: string,
): CoefficientStatements | null {
  const m = Math.fround(maxNorm);
  if (!Number.isFinite(m)) return null;
  const v = (name: string) => `${prefix}${name}`;
  const C = floatLiteral(m),
    EPS = floatLiteral(CLIP_EPSILON),
    A = floatLiteral(TWO_STEP_FACTOR);
  // `x > 1 ? 1 : x` keeps NaN, as the core's clampMax does.
  const atMostOne = (x: string) => d.select(`${x} > 1.0`, "1.0", x);
  const lines: string[] = [d.float(v("t"), `${total} + ${EPS}`), d.float(v("plain"), atMostOne(`${C} / ${v("t")}`))];
  if (m === 0) {
    // 0 · g (NaN where g is infinite, as in the core): one factor.
    return { code: lines.join("\n"), coefficient: v("plain"), factors: [v("plain"), "1.0"], usesPart: false };
  }
  const LOG2C = floatLiteral(Math.log2(m));
  lines.push(d.float(v("plainLog"), `${LOG2C} - log2(${v("t")})`), d.float(v("plainB"), `${C} / (${v("t")} * ${A})`));
  let coefficient = v("plain"),
    log = v("plainLog"),
    second = v("plainB");
  const usesPart = part !== null && part.p !== Infinity;
  if (part && usesPart) {
    const P = floatLiteral(part.p),
      S = part.scale;
    lines.push(
      d.float(v("x"), part.count === 1 ? part.sum : `${part.sum} * ${floatLiteral(part.count)}`),
      d.bool(
        v("over"),
        `isinf(${total}) && ${total} > 0.0 && ${S} > 0.0 && !isinf(${S}) && !isnan(${S}) && !isinf(${v("x")}) && !isnan(${v("x")})`,
      ),
      d.float(v("partLog"), `${LOG2C} - log2(${S}) - log2(${v("x")}) / ${P}`),
    );
    if (part.p >= 1) {
      const root = part.p === 2 ? `sqrt(${v("x")})` : part.p === 1 ? v("x") : `pow(${v("x")}, 1.0 / ${P})`;
      lines.push(
        d.float(v("root"), root),
        d.float(v("partCoef"), atMostOne(`(${C} / ${v("root")}) / ${S}`)),
        d.float(v("partB"), `${C} / ((${S} * ${A}) * ${v("root")})`),
      );
    } else {
      // (maxNorm^p / scale^p / sum)^(1/p): the root of the sum alone overflows for p < 1 where the coefficient may not.
      lines.push(
        d.float(v("partCoef"), atMostOne(`pow((pow(${C}, ${P}) / pow(${S}, ${P})) / ${v("x")}, 1.0 / ${P})`)),
        d.float(v("partB"), `exp2(${v("partLog")} + 64.0)`),
      );
    }
    lines.push(
      d.float(v("coef"), d.select(v("over"), v("partCoef"), v("plain"))),
      d.float(v("log"), d.select(v("over"), v("partLog"), v("plainLog"))),
      d.float(v("b"), d.select(v("over"), v("partB"), v("plainB"))),
    );
    coefficient = v("coef");
    log = v("log");
    second = v("b");
  }
  // log2 of the coefficient decides, a margin of 1 above the normal range; NaN gives one factor, NaN.
  lines.push(d.bool(v("two"), `${log} < ${floatLiteral(Math.log2(TWO_STEP_BELOW))}`));
  return {
    code: lines.join("\n"),
    coefficient,
    factors: [d.select(v("two"), A, coefficient), d.select(v("two"), second, "1.0")],
    usesPart,
  };
}

/** The inputs of a coefficient program, in binding order: the total, the part's scale, the part's sum. */
export type CoefficientInput = "T" | "S" | "X";

/**
 * `coefficientStatements` for a program whose inputs are named
 * `CoefficientInput`s (`read(name)`: the shader expression of that input's
 * value): the statements, with `names` the inputs they read (["T"], or
 * ["T", "S", "X"] where they use the part: a WebGPU program must bind only
 * what it reads) and `select` taking those from [total, scale, sum].
 */
export function coefficientProgram(
  d: ShaderDialect,
  maxNorm: number,
  read: (name: CoefficientInput) => string,
  part: { readonly count: number; readonly p: number } | null,
): (CoefficientStatements & { names: CoefficientInput[]; select<T>(inputs: readonly T[]): T[] }) | null {
  const c = coefficientStatements(
    d,
    maxNorm,
    read("T"),
    part ? { scale: read("S"), sum: read("X"), ...part } : null,
    "k_",
  );
  if (c === null) return null;
  const names: CoefficientInput[] = c.usesPart ? ["T", "S", "X"] : ["T"];
  return { ...c, names, select: (inputs) => inputs.slice(0, names.length) };
}

/**
 * The two factors (a, b) of a coefficient known on the host, as
 * `coefficientStatements` makes them on the device: (c, 1), or
 * (2^-64, c · 2^64) below 2^-125, so that a GPU scales right by a
 * coefficient that is subnormal in float32.
 */
export function hostFactors(c: number): [number, number] {
  return Math.abs(c) < TWO_STEP_BELOW && c !== 0 ? [TWO_STEP_FACTOR, c / TWO_STEP_FACTOR] : [c, 1];
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
export function rangeBranches(
  index: string,
  lengths: readonly number[],
  body: (k: number, local: string) => string,
): string {
  const starts: number[] = [];
  lengths.reduce((at, len) => (starts.push(at), at + len), 0);
  return rangeBranchesAt(index, starts.map(String), body);
}

/** `rangeBranches` with the ranges' starts given as shader expressions (e.g. uniforms); `starts[0]` is 0. */
export function rangeBranchesAt(
  index: string,
  starts: readonly string[],
  body: (k: number, local: string) => string,
): string {
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
 * takes that row's `start` and `count` and the norm part of
 * `load(k, start + j)` (`k` the input's index as a literal, so that `load`
 * can name its sampler or buffer; the raw value: its absolute value is
 * taken here), stored as `normalizedPart` gives it, left in the variables
 * named by `scale` and `sum`. One block per input
 * rather than one block choosing an input per value: under SwiftShader
 * the choice per value made the norms of GPT-2 small's shapes up to 4x
 * slower with 32 inputs (the time grew with the inputs), a branch per row
 * did not (and compiled 4x faster on webgpu). Input k's value count,
 * row length and end row (Σ rows_≤k) are literals, or the expressions
 * `parameter(what, k, value)` returns (uniforms: then the program does not
 * depend on the sizes; GLSL's loop bounds are still the row lengths).
 * `rows`: the program's output rows (Σ rows_k over the inputs).
 */
export function rowPartialStatements(
  d: ShaderDialect & IndexDialect,
  row: string,
  lengths: readonly number[],
  p: number,
  load: (k: number, index: string) => string,
  parameter: (what: RowParameter, k: number, value: number) => string = (_what, _k, value) => String(value),
): { code: string; scale: string; sum: string; rows: number } {
  const layouts = rowLayouts(lengths);
  const ends: number[] = [];
  layouts.reduce((at, l) => (ends.push(at + l.rows), at + l.rows), 0);
  const starts = layouts.map((_, k) => (k === 0 ? "0" : parameter("rowEnd", k - 1, ends[k - 1]!)));
  const pick = rangeBranchesAt(row, starts, (k, local) => {
    const cols = parameter("cols", k, layouts[k]!.cols);
    const stored = storedPartStatements(
      d,
      { bound: layouts[k]!.cols, count: "count", load: (j) => `abs(${load(k, `start + ${j}`)})` },
      p,
      `g${k}_`,
      `g${k}_stored_`,
    );
    return (
      `start = ${local} * ${cols}; count = ${d.min(cols, `${parameter("n", k, layouts[k]!.n)} - start`)}; ${stored.code} ` +
      `rowScale = ${stored.scale}; rowSum = ${stored.sum};`
    );
  });
  return {
    code: [d.int("start", "0"), d.int("count", "0"), d.float("rowScale", "0.0"), d.float("rowSum", "0.0"), pick].join(
      "\n",
    ),
    scale: "rowScale",
    sum: "rowSum",
    rows: ends[ends.length - 1] ?? 0,
  };
}
