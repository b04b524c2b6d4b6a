// The memoised stop(): a role is stopped by a signal, by the runner and sometimes by a test,
// and every caller must wait for the one stop that runs.

/** fn runs on the first call only (with that call's arguments); later calls get its result. */
export function once<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T {
  let done: { value: T } | undefined;
  return (...args) => (done ??= { value: fn(...args) }).value;
}
