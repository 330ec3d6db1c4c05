import { boolean, fail, integer, rejectUnknown } from '../option-checks.js'
import type { SelectorLimits } from './selectors.js'

/** The `vulcain` option: its limits, validated at registration. */

export type VulcainRelations = 'any' | 'schema'

export interface VulcainOptions {
  /** Most selectors per directive. Default 32. */
  maxSelectors?: number
  /** Most tokens per selector. Default 16. */
  maxSelectorDepth?: number
  /** Most bytes per directive (header or query parameter). Default 4096. */
  maxDirectiveBytes?: number
  /** Read the `preload` and `fields` query parameters too. Default true. */
  query?: boolean
  /**
   * Which values a selector may follow. `'any'` (default, as the draft and the Go gateway):
   * `x-push` fields and any string that looks like a link. `'schema'`: only what the route's
   * response schema says is a relation (`x-push`, or `format: 'uri-reference'`, `'uri'`,
   * `'iri-reference'`).
   */
  relations?: VulcainRelations
}

export interface ResolvedVulcainOptions extends SelectorLimits {
  readonly query: boolean
  readonly relations: VulcainRelations
}

const vulcainDefaults = {
  maxSelectors: 32,
  maxSelectorDepth: 16,
  maxDirectiveBytes: 4096,
  query: true,
  relations: 'any'
} as const

/** `vulcain: true | { ...limits }`, validated; null when the protocol is off. */
export function resolveVulcain (value: unknown): ResolvedVulcainOptions | null {
  if (value === false) return null
  if (value !== true && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    fail('vulcain', 'must be a boolean or an object of limits', value)
  }
  const limits = (value === true ? {} : value) as VulcainOptions
  rejectUnknown('vulcain', limits, Object.keys(vulcainDefaults))
  return {
    maxSelectors: limits.maxSelectors === undefined ? vulcainDefaults.maxSelectors : integer('vulcain.maxSelectors', limits.maxSelectors, 1),
    maxDepth: limits.maxSelectorDepth === undefined ? vulcainDefaults.maxSelectorDepth : integer('vulcain.maxSelectorDepth', limits.maxSelectorDepth, 1),
    maxBytes: limits.maxDirectiveBytes === undefined ? vulcainDefaults.maxDirectiveBytes : integer('vulcain.maxDirectiveBytes', limits.maxDirectiveBytes, 1),
    query: limits.query === undefined ? vulcainDefaults.query : boolean('vulcain.query', limits.query),
    relations: limits.relations === undefined ? vulcainDefaults.relations : relations(limits.relations)
  }
}

function relations (value: unknown): VulcainRelations {
  if (value !== 'any' && value !== 'schema') fail('vulcain.relations', 'must be "any" or "schema"', value)
  return value
}
