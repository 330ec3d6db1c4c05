/**
 * The environment for a child process that runs the built package (dist/) or the example's
 * launcher: tap's process tracking still follows it, but it records no coverage, which belongs
 * to the TypeScript sources the other tests run (@tapjs/processinfo reads this variable).
 */
export function uncoveredChildEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
}
