import type { LinkSet } from '../links/link-set.js'
import type { TagSink } from './tag-sink.js'
import { expandUriTemplate, type UriTemplate } from '../links/uri/uri-template.js'
import { branchRule, type LinkRule, type LinkRules, type PlanNode } from '../plan/plan-node.js'

/**
 * Where links are collected: the payload object is visited along the route's plan, before
 * serialization, so only annotated paths are read and the serialized body is never parsed.
 * The walk reads the payload as the serializer will write it: `toJSON()` results, declared
 * properties, then the first matching pattern or `additionalProperties` for other names.
 */

/**
 * Deepest payload level visited (the number of tokens of a pointer). Recursive schemas follow
 * the data, and data can be deep (or, as a JavaScript object, even cyclic): this bound keeps
 * the walk off the call stack's limit.
 */
export const MAX_DEPTH = 64

/**
 * Reads the relations of `payload` into `links`. Returns false if `MAX_DEPTH` cut the walk.
 * With `tags` (cache tags), the same walk also reports every relation and the IRI of every
 * object whose schema declares `iriKey`; it goes on past the link caps, as tags must be complete.
 */
export function collectLinks (plan: PlanNode, payload: unknown, links: LinkSet, iriKey: string, tags: TagSink | null = null): boolean {
  return visit(plan, payload, links, iriKey, 0, tags)
}

/** Nothing left to collect: the links are capped and the tags (if any) decided. */
function stopped (links: LinkSet, tags: TagSink | null): boolean {
  return links.full && (tags === null || tags.full)
}

/** What the serializer writes for an object with a `toJSON` method (a Date, a URL, a model). */
export function serialized (value: unknown): unknown {
  return typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function'
    ? (value as { toJSON: () => unknown }).toJSON()
    : value
}

function visit (node: PlanNode, raw: unknown, links: LinkSet, iriKey: string, depth: number, tags: TagSink | null): boolean {
  if (depth > MAX_DEPTH) return false
  const value = serialized(raw)
  if (node.link !== null) {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length && !stopped(links, tags); i++) addRelation(node.link, serialized(value[i]), links, iriKey, tags)
    } else {
      addRelation(node.link, value, links, iriKey, tags)
    }
  }
  if (typeof value !== 'object' || value === null || stopped(links, tags)) return true
  let complete = true
  if (Array.isArray(value)) {
    const { items, prefixItems } = node
    if (items === null && prefixItems === null) return true
    for (let i = 0; i < value.length && !stopped(links, tags); i++) {
      const child = prefixItems !== null && i < prefixItems.length ? prefixItems[i] : items
      if (child != null) complete = visit(child, value[i], links, iriKey, depth + 1, tags) && complete
    }
    return complete
  }
  const object = value as Record<string, unknown>
  if (tags !== null && node.iri === true) {
    const iri = object[iriKey]
    if (typeof iri === 'string') tags.add(iri)
  }
  if (node.properties !== null) {
    for (const [name, child] of node.properties) {
      const property = object[name]
      if (property !== undefined && !stopped(links, tags)) complete = visit(child, property, links, iriKey, depth + 1, tags) && complete
    }
  }
  if (node.patterns !== null || node.additional !== null) {
    for (const name of Object.keys(object)) {
      if (stopped(links, tags)) break
      if (node.declared?.has(name) === true) continue
      const property = object[name]
      // What the serializer leaves out of the body has no link either.
      if (property === undefined || typeof property === 'function' || typeof property === 'symbol') continue
      const child = otherPropertyNode(node, name)
      if (child !== null) complete = visit(child, property, links, iriKey, depth + 1, tags) && complete
    }
  }
  return complete
}

/** The first matching pattern decides (even one without relations), else `additionalProperties`. */
function otherPropertyNode (node: PlanNode, name: string): PlanNode | null {
  for (const [pattern, child] of node.patterns ?? []) {
    if (pattern.test(name)) return child
  }
  return node.additional
}

/** A numeric string: the serializer writes one in an integer field as a number. */
export const NUMERIC = /^-?\d+(?:\.\d+)?$/

/** The rule for this kind of value, if any. */
export function ruleFor (rules: LinkRules, value: unknown): LinkRule | null {
  const { stringBranches, numberBranches } = rules
  return typeof value === 'string'
    ? stringBranches !== undefined
      ? branchRule(stringBranches, value)
      // The serializer writes a numeric string in an integer field as a number: so does its link
      // (not in a union: the serializer tries a string against its branches as it is).
      : rules.string ?? (numberBranches === undefined && NUMERIC.test(value) ? rules.number : null)
    : typeof value === 'number' || typeof value === 'bigint'
      ? numberBranches !== undefined ? branchRule(numberBranches, value) : rules.number
      : typeof value === 'object' && value !== null && !Array.isArray(value) ? rules.object : null
}

/** The plan node of the value at `key` of an array or object, as the serializer reads it. */
export function childNode (node: PlanNode, container: object, key: string): PlanNode | null {
  if (Array.isArray(container)) {
    const index = Number(key)
    return node.prefixItems !== null && index < node.prefixItems.length ? node.prefixItems[index] ?? null : node.items
  }
  if (node.declared?.has(key) === true || (node.patterns === null && node.additional === null)) {
    return node.properties?.find(([name]) => name === key)?.[1] ?? null
  }
  return otherPropertyNode(node, key)
}

/** One annotated value (or one element of an annotated array) becomes at most one link (and one tag). */
function addRelation (rules: LinkRules, value: unknown, links: LinkSet, iriKey: string, tags: TagSink | null): void {
  const rule = ruleFor(rules, value)
  const reference = rule === null ? null : referenceOf(rule.template, value, iriKey)
  // Past the link caps the walk goes on for the tags only: no link may be added after a cap.
  if (reference === null || rule === null) {
    if (!links.full) links.skip()
  } else {
    if (!links.full) links.add(reference, rule)
    if (tags !== null) tags.add(reference)
  }
}

/**
 * The URI reference a value stands for: a string as it is, a scalar through the template's one
 * variable, an embedded object through its IRI property or the template's variables.
 */
export function referenceOf (template: UriTemplate | null, value: unknown, iriKey: string): string | null {
  if (typeof value === 'object') {
    if (value === null || Array.isArray(value)) return null
    const object = value as Record<string, unknown>
    if (template !== null) return expandUriTemplate(template, (name) => object[name])
    return iriOf(object, iriKey)
  }
  if (template === null) return typeof value === 'string' ? value : null
  return template.variables.length === 1 ? expandUriTemplate(template, () => value) : null
}

/** An embedded object's IRI property, when it is a string (read once: it may be a getter). */
export function iriOf (object: Record<string, unknown>, iriKey: string): string | null {
  const iri = object[iriKey]
  return typeof iri === 'string' ? iri : null
}
