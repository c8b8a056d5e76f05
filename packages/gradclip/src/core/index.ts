export { NonFiniteNormError } from "./errors.js";
export { assertFiniteNorm } from "./nonfinite.js";
export {
  type NormType,
  type NormOptions,
  parseNormType,
  resolveNormOptions,
  checkNonNegative,
  checkBoolean,
  checkNumberIn,
  checkPositive,
  checkInteger,
  checkIntegerOrInfinity,
} from "./validate.js";
export { checkOptions, readOptions, readArray, readFields, isPlainObject, closestName } from "./options.js";
export { describe, typedArrayTag, isTypedArrayImitation, messageOf } from "./describe.js";
export { checkShape, checkShapeOrCount, type CheckedShape } from "./shape.js";
export { toJsonNumber, fromJsonNumber, type JsonNumber } from "./json-number.js";
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
