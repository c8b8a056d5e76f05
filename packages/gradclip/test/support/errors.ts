/** Assertions on gradclip's errors: their class and a message in the form `gradclip: <fn>: <argument> must be ...`. */
import assert from "node:assert/strict";

/** An error class the tests expect (TypeError, RangeError, or one of ours). */
export type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Asserts that `fn` throws an instance of `kind` whose message matches
 * `pattern` and starts with "gradclip: " (every error of the library does).
 */
export function assertThrowsTyped(fn: () => unknown, kind: ErrorClass, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.match(e.message, /^gradclip: /);
    return true;
  });
}
