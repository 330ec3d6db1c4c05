import { FST_PUSH_RELATIONS_INVALID_OPTION } from './errors.js'

/*
 * The checks every option resolver shares (the plugin's options, `vulcain`, `cacheTags`): a bad
 * value fails at registration with FST_PUSH_RELATIONS_INVALID_OPTION, naming the option's path
 * (`vulcain.maxSelectors`) and the value received.
 */

/** A header field name (RFC 9110 section 5.1 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** The longest delay `setTimeout` honors; longer ones fire at once. */
export const MAX_TIMER_DELAY = 2_147_483_647

export function fail (name: string, problem: string, value: unknown): never {
  throw new FST_PUSH_RELATIONS_INVALID_OPTION(name, `${problem}, received ${describe(value)}`)
}

/** A value as the error message shows it: strings quoted, objects by kind only (they may hold secrets). */
function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  if (typeof value === 'bigint') return `${value}n (a bigint)`
  return typeof value === 'object' ? 'an object' : String(value)
}

export function integer (name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    fail(name, max === Number.MAX_SAFE_INTEGER ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`, value)
  }
  return value
}

export function boolean (name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(name, 'must be a boolean', value)
  return value
}

/** Rejects a key `known` does not list, naming it under `path` (`vulcain.maxSelector`). */
export function rejectUnknown (path: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new FST_PUSH_RELATIONS_INVALID_OPTION(`${path}.${key}`, `is not a known option (known: ${known.join(', ')})`)
  }
}
