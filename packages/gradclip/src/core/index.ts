export { NonFiniteNormError } from "./errors.js";
export { assertFiniteNorm } from "./nonfinite.js";
export {
  type NormType,
  type NormOptions,
  parseNormType,
  resolveNormOptions,
  checkNonNegative,
  checkBoolean,
  checkOptions,
  describe,
} from "./validate.js";
export { CLIP_EPSILON, clipCoefficient, clipCoefficientWith, type CoefficientOps } from "./coefficient.js";
export { combineNorms, combineNormsWith, type NormCombineOps } from "./combine.js";
