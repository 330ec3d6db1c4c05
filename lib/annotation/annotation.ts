import { isCrossOrigin, LOWERCASE_TOKEN, type CrossOrigin, type ResolvedOptions } from '../options.js'
import { parseUriTemplate, type UriTemplate } from '../links/uri/uri-template.js'
import type { LinkRule } from '../plan/plan-node.js'

/** The per-field form of `x-push`, to override the plugin's options for one relation. */
export interface PushAnnotationObject {
  /** RFC 6570 level 1 template, e.g. `/authors/{id}`. */
  template?: string
  rel?: string
  as?: string
  crossorigin?: CrossOrigin | false
  nopush?: boolean
}

/**
 * The values `x-push` accepts: `true`, a URI template string, or an object of per-field
 * overrides. `false` means "not a relation", like no annotation at all.
 */
export type PushAnnotation = boolean | string | PushAnnotationObject

/** The JSON Schema keyword this plugin reads. */
export const KEYWORD = 'x-push'

/** Link parameters, unquoted and lower case: the one form nginx, Apache and h2o all honor. */
export function linkParams (rel: string, as: string, crossorigin: CrossOrigin | false, nopush: boolean): string {
  let params = `; rel=${rel}; as=${as}`
  if (crossorigin === 'anonymous') params += '; crossorigin'
  else if (crossorigin === 'use-credentials') params += '; crossorigin=use-credentials'
  if (nopush) params += '; nopush'
  return params
}

const OBJECT_KEYS = new Set(['template', 'rel', 'as', 'crossorigin', 'nopush'])

/**
 * Reads one `x-push` value. Returns the rule, null for `false`, or a sentence saying what is
 * wrong (the caller names the route and pointer).
 */
export function parseAnnotation (value: unknown, options: ResolvedOptions): LinkRule | null | string {
  if (value === false) return null
  if (value === true) return defaultRule(options)
  if (typeof value === 'string') return withTemplate(value, options.rel, options.as, options.crossorigin, options.nopush)
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `must be true, a URI template string or an object, received ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`
  }
  const annotation = value as Record<string, unknown>
  for (const key of Object.keys(annotation)) {
    if (!OBJECT_KEYS.has(key)) return `unknown property "${key}" (expected ${[...OBJECT_KEYS].join(', ')})`
  }
  const { template, rel = options.rel, as = options.as, crossorigin = options.crossorigin, nopush = options.nopush } = annotation
  if (typeof rel !== 'string' || !LOWERCASE_TOKEN.test(rel)) return '"rel" must be a lower-case token such as "preload"'
  if (typeof as !== 'string' || !LOWERCASE_TOKEN.test(as)) return '"as" must be a lower-case token such as "fetch"'
  if (!isCrossOrigin(crossorigin)) return '"crossorigin" must be "anonymous", "use-credentials" or false'
  if (typeof nopush !== 'boolean') return '"nopush" must be a boolean'
  if (template === undefined) return ruleOf(null, rel, as, crossorigin, nopush)
  if (typeof template !== 'string') return '"template" must be a string'
  return withTemplate(template, rel, as, crossorigin, nopush)
}

function withTemplate (source: string, rel: string, as: string, crossorigin: CrossOrigin | false, nopush: boolean): LinkRule | string {
  const template = parseUriTemplate(source)
  if (typeof template === 'string') return `template "${source}": ${template}`
  if (template.variables.length === 0) return `template "${source}" has no variable; a constant link belongs in the handler`
  return ruleOf(template, rel, as, crossorigin, nopush)
}

function ruleOf (template: UriTemplate | null, rel: string, as: string, crossorigin: CrossOrigin | false, nopush: boolean): LinkRule {
  return { template, params: linkParams(rel, as, crossorigin, nopush), nopush }
}

/** The rule of links no annotation describes: `reply.preload()`, Vulcain selections of plain strings. */
export function defaultRule (options: ResolvedOptions): LinkRule {
  return ruleOf(null, options.rel, options.as, options.crossorigin, options.nopush)
}

/** Two annotations on the same value agree when they produce the same links. */
export function sameRule (a: LinkRule, b: LinkRule): boolean {
  return a.params === b.params && a.template?.source === b.template?.source
}
