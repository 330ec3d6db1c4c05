// The end-to-end tests need real servers and clients installed from Debian packages.
// Locally a missing binary skips the test (with the install command); on CI it fails,
// so a broken CI image cannot silently turn the e2e suite into a no-op.
import { accessSync, constants } from 'node:fs'
import path from 'node:path'

/** Debian package providing each binary the e2e tests use */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  nginx: 'nginx',
  apache2: 'apache2',
  h2o: 'h2o',
  nghttp: 'nghttp2-client',
  varnishd: 'varnish'
}

// sbin folders are often missing from a non-root PATH, and nginx/apache2 live there
const EXTRA_DIRS = ['/usr/sbin', '/sbin']

function isExecutable (file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The `names` not found as executables in PATH, /usr/sbin or /sbin. */
export function missingBinaries (names: string[], searchPath = process.env['PATH'] ?? ''): string[] {
  const dirs = [...searchPath.split(path.delimiter).filter(d => d !== ''), ...EXTRA_DIRS]
  return names.filter(name => !dirs.some(dir => isExecutable(path.join(dir, name))))
}

/** `apt-get install ...` for the given binaries (a binary we have no package for is named as is). */
export function installHint (names: string[]): string {
  const packages = [...new Set(names.map(name => DEBIAN_PACKAGES[name] ?? name))]
  return `apt-get install ${packages.join(' ')}`
}

/** The part of tap's `t` this needs (a structural type, so it can be stubbed). */
export interface SkipTarget {
  plan (n: number, comment?: string): void
  fail (message: string): unknown
}

/**
 * Call first thing in a test: returns true when the test must not go on because one of
 * `names` is missing. Without `CI` in the environment the test is marked skipped (plan 0
 * with the reason); with `CI` set it fails.
 */
export function skipWithoutBinaries (t: SkipTarget, names: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const missing = missingBinaries(names, env['PATH'] ?? '')
  if (missing.length === 0) return false
  const message = `missing ${missing.join(', ')}: ${installHint(missing)}`
  if (env['CI'] === undefined || env['CI'] === '') t.plan(0, message)
  else t.fail(`${message} (CI is set, so this fails instead of skipping)`)
  return true
}
