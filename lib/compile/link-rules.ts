import { defaultRule, KEYWORD, parseAnnotation, sameRule } from '../annotation/annotation.js'
import { LinkBranchesBuilder } from './link-branches.js'
import type { ResolvedOptions } from '../options.js'
import { isSchemaObject, type Fragment, type SchemaResolver } from './schema-resolver.js'
import type { LinkRule, LinkRules } from '../plan/plan-node.js'

type ValueKind = 'string' | 'number' | 'object'
type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'object' | 'array'

/** The string formats that name a resource (Vulcain's `relations: 'schema'`). */
const URI_FORMATS = new Set(['uri-reference', 'uri', 'iri-reference'])

const JSON_TYPES = new Set<string>(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array'])
const ALL_KINDS: readonly ValueKind[] = ['string', 'number', 'object']

function typeOfValue (value: unknown): JsonType {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  const type = typeof value
  return type === 'string' || type === 'number' || type === 'boolean' ? type : 'object'
}

/**
 * The JSON types a value of these schemas can have, from `type`, `const`, `enum`, or keywords
 * that only apply to one type (`properties`, `items`). Null when nothing constrains them.
 */
function declaredTypes (fragments: readonly Fragment[]): Set<JsonType> | null {
  const types = new Set<JsonType>()
  for (const { schema } of fragments) {
    const declared = Array.isArray(schema.type) ? schema.type : [schema.type]
    for (const type of declared) if (typeof type === 'string' && JSON_TYPES.has(type)) types.add(type as JsonType)
    if ('const' in schema) types.add(typeOfValue(schema.const))
    if (Array.isArray(schema.enum)) for (const value of schema.enum) types.add(typeOfValue(value))
    if (schema.type === undefined) {
      if ('properties' in schema || 'patternProperties' in schema || 'additionalProperties' in schema) types.add('object')
      if ('items' in schema || 'prefixItems' in schema) types.add('array')
    }
  }
  return types.size === 0 ? null : types
}

/** The element schemas of array schemas: tuple members and the rest. */
function elementsOf (fragments: readonly Fragment[]): Fragment[] {
  const elements: Fragment[] = []
  for (const { schema, document } of fragments) {
    const candidates = [
      ...(Array.isArray(schema.prefixItems) ? schema.prefixItems : []),
      ...(Array.isArray(schema.items) ? [...schema.items, schema.additionalItems] : [schema.items])
    ]
    for (const candidate of candidates) if (isSchemaObject(candidate)) elements.push({ schema: candidate, document })
  }
  return elements
}

export class LinkRulesBuilder {
  private readonly branches: LinkBranchesBuilder

  /**
   * @param formatRelations Vulcain's `relations: 'schema'`: a string whose schema says
   * `format: 'uri-reference'`, `'uri'` or `'iri-reference'` is a relation too (with the default rule).
   */
  constructor (private readonly resolver: SchemaResolver, private readonly options: ResolvedOptions, private readonly formatRelations = false) {
    this.branches = new LinkBranchesBuilder(resolver, options)
  }

  /**
   * The rules of a value described by `fragments` (already expanded), and with `entries` (the
   * same, not expanded) the branches of its unions. Returns null when no fragment is
   * annotated, or a sentence saying why an annotation cannot work.
   */
  rulesOf (fragments: readonly Fragment[], entries?: readonly Fragment[]): LinkRules | null | string {
    const rules = this.plainRulesOf(fragments)
    if (rules === null || typeof rules === 'string' || entries === undefined) return rules
    const branches = this.branches.branchesOf(entries, fragments, rules)
    if (typeof branches === 'string') return branches
    return branches.string === undefined && branches.number === undefined
      ? rules
      : { ...rules, ...(branches.string === undefined ? {} : { stringBranches: branches.string }), ...(branches.number === undefined ? {} : { numberBranches: branches.number }) }
  }

  private plainRulesOf (fragments: readonly Fragment[]): LinkRules | null | string {
    const rules: { -readonly [K in ValueKind]: LinkRule | null } = { string: null, number: null, object: null }
    let annotated = false
    for (const fragment of fragments) {
      if (!(KEYWORD in fragment.schema)) {
        if (this.formatRelations && typeof fragment.schema.format === 'string' && URI_FORMATS.has(fragment.schema.format)) {
          rules.string ??= defaultRule(this.options)
          annotated = true
        }
        continue
      }
      const rule = parseAnnotation(fragment.schema[KEYWORD], this.options)
      if (typeof rule === 'string') return rule
      if (rule === null) continue
      // The annotated schema's own types say which values the rule is for; the properties an
      // embedded object has come from every schema of the value (an allOf may add `@id`).
      const own = this.resolver.expand([fragment])
      const kinds = this.kindsFor(own, rule, fragments)
      if (typeof kinds === 'string') return kinds
      for (const kind of kinds) {
        const existing = rules[kind]
        if (existing !== null && !sameRule(existing, rule)) return `two different x-push annotations apply to the same ${kind} value`
        rules[kind] = rule
      }
      annotated = true
    }
    return annotated ? rules : null
  }

  /**
   * The kinds of values `rule` applies to, or why it applies to none. A union is fine when one
   * of its types can hold a link (`string | null`); values of the other types are skipped.
   */
  private kindsFor (own: readonly Fragment[], rule: LinkRule, all: readonly Fragment[], arrayAllowed = true): ValueKind[] | string {
    const types = declaredTypes(own)
    if (types === null) return [...ALL_KINDS] // Type.Any, Type.Unknown: checked value by value
    const variables = rule.template?.variables.length ?? 0
    const kinds = new Set<ValueKind>()
    let problem: string | null = null
    for (const type of types) {
      let reason: string | null = null
      switch (type) {
        case 'string':
          if (variables > 1) reason = `template "${rule.template?.source}" has ${variables} variables; on a string it needs exactly one`
          else kinds.add('string')
          break
        case 'number':
        case 'integer':
          if (rule.template === null) reason = 'a number cannot be a link by itself: use a URI template such as "/authors/{id}"'
          else if (variables > 1) reason = `template "${rule.template.source}" has ${variables} variables; on a number it needs exactly one`
          else kinds.add('number')
          break
        case 'object':
          reason = this.objectProblem(all, rule)
          if (reason === null) kinds.add('object')
          break
        case 'array': {
          if (!arrayAllowed) {
            reason = 'an array of arrays cannot hold links; annotate the inner items'
            break
          }
          const elements = elementsOf(own)
          const elementKinds = elements.length === 0 ? [...ALL_KINDS] : this.kindsFor(this.resolver.expand(elements), rule, this.resolver.expand(elements), false)
          if (typeof elementKinds === 'string') reason = elementKinds
          else for (const kind of elementKinds) kinds.add(kind)
          break
        }
        case 'boolean':
          reason = 'a boolean cannot hold a link'
          break
        default: // null: skipped at run time, neither a holder nor a problem
      }
      problem ??= reason
    }
    if (kinds.size > 0) return [...kinds]
    return problem ?? 'a field that is always null cannot hold a link'
  }

  private objectProblem (fragments: readonly Fragment[], rule: LinkRule): string | null {
    const declared = new Set<string>()
    let declares = false
    for (const { schema } of fragments) {
      if (!isSchemaObject(schema.properties)) continue
      declares = true
      for (const name of Object.keys(schema.properties)) declared.add(name)
    }
    if (!declares) return null // a free-form object: checked value by value
    if (rule.template === null) {
      return declared.has(this.options.iriKey)
        ? null
        : `the object has no "${this.options.iriKey}" property in its schema: add it, set the iriKey option, or use a URI template such as "/authors/{id}"`
    }
    const missing = rule.template.variables.find((name) => !declared.has(name))
    return missing === undefined ? null : `template variable "${missing}" is not a property of the object`
  }
}
