import type { LinkRule } from './annotation.js'
import type { LinkSet } from './link-set.js'
import type { PlanNode } from './schema-compiler.js'
import { expandUriTemplate } from './uri-template.js'

/**
 * Where links are collected: the payload object is visited along the route's plan, before
 * serialization, so only annotated paths are read and the serialized body is never parsed.
 */

/**
 * Deepest payload level visited (the number of tokens of a pointer). Recursive schemas follow the data, and data can be deep (or,
 * as a JavaScript object, even cyclic): this bound keeps the walk off the call stack's limit.
 */
export const MAX_DEPTH = 64

/** Reads the relations of `payload` into `links`. Returns false if `MAX_DEPTH` cut the walk. */
export function collectLinks (plan: PlanNode, payload: unknown, links: LinkSet, iriKey: string): boolean {
  return visit(plan, payload, links, iriKey, 0)
}

function visit (node: PlanNode, value: unknown, links: LinkSet, iriKey: string, depth: number): boolean {
  if (depth > MAX_DEPTH) return false
  if (node.link !== null) {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length && !links.full; i++) addRelation(node.link, value[i], links, iriKey)
    } else {
      addRelation(node.link, value, links, iriKey)
    }
  }
  if (typeof value !== 'object' || value === null || links.full) return true
  let complete = true
  if (Array.isArray(value)) {
    const { items, prefixItems } = node
    if (items === null && prefixItems === null) return true
    for (let i = 0; i < value.length && !links.full; i++) {
      const child = prefixItems !== null && i < prefixItems.length ? prefixItems[i] : items
      if (child != null) complete = visit(child, value[i], links, iriKey, depth + 1) && complete
    }
    return complete
  }
  const object = value as Record<string, unknown>
  if (node.properties !== null) {
    for (const [name, child] of node.properties) {
      const property = object[name]
      if (property !== undefined && !links.full) complete = visit(child, property, links, iriKey, depth + 1) && complete
    }
  }
  if (node.patterns !== null || node.additional !== null) {
    for (const name of Object.keys(object)) {
      if (links.full) break
      for (const [pattern, child] of node.patterns ?? []) {
        if (pattern.test(name)) complete = visit(child, object[name], links, iriKey, depth + 1) && complete
      }
      if (node.additional !== null && isAdditional(node, name)) {
        complete = visit(node.additional, object[name], links, iriKey, depth + 1) && complete
      }
    }
  }
  return complete
}

/** `additionalProperties` covers the names neither `properties` nor `patternProperties` cover. */
function isAdditional (node: PlanNode, name: string): boolean {
  if (node.declared?.has(name) === true) return false
  return node.declaredPatterns === null || !node.declaredPatterns.some((pattern) => pattern.test(name))
}

/** One annotated value (or one element of an annotated array) becomes at most one link. */
function addRelation (rule: LinkRule, value: unknown, links: LinkSet, iriKey: string): void {
  const reference = referenceOf(rule, value, iriKey)
  if (reference === null) links.skip()
  else links.add(reference, rule)
}

/**
 * The URI reference a value stands for: a string as it is, a scalar through the template's one
 * variable, an embedded object through its IRI property or the template's variables.
 */
export function referenceOf (rule: LinkRule, value: unknown, iriKey: string): string | null {
  const template = rule.template
  if (typeof value === 'object') {
    if (value === null || Array.isArray(value)) return null
    const object = value as Record<string, unknown>
    if (template !== null) return expandUriTemplate(template, (name) => object[name])
    const iri = object[iriKey]
    return typeof iri === 'string' ? iri : null
  }
  if (template === null) return typeof value === 'string' ? value : null
  return template.variables.length === 1 ? expandUriTemplate(template, () => value) : null
}
