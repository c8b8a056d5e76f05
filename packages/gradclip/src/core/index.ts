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
export {
  CLIP_EPSILON,
  clipCoefficient,
  clipCoefficientWith,
  clipCoefficientOfPartWith,
  type CoefficientOps,
  type PartCoefficientOps,
} from "./coefficient.js";
export { combineNorms, combineNormsWith, mergePartsWith, numberCombineOps, type NormCombineOps } from "./combine.js";
export { combineNormParts, mergeNormParts, type NormPart } from "./norm-part.js";
