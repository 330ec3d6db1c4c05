import type { LinkRule } from './annotation.js'
import { childNode, referenceOf, ruleFor, serialized } from './link-collector.js'
import type { PlanNode } from './schema-compiler.js'
import type { FieldTree } from './vulcain-fields.js'
import { WILDCARD, type Selector } from './vulcain-selectors.js'

/**
 * The relations a Vulcain request selects in a document: values reached by `Preload`
 * selectors, and values where a `Fields` selector goes on into the linked resource. A value is
 * a relation when the route's schema annotates it with `x-push` (so `"author": 1` with
 * `'x-push': '/authors/{id}'` is `/authors/1`), or when it is a string that looks like a link.
 */

/**
 * A string without annotation counts as a link when it looks like one: a path, a `./` or `../`
 * reference, or an absolute http(s) URL. "George Orwell" is a name, not `/George%20Orwell`.
 */
const LINK = /^(?:\/|\.\.?\/|https?:\/\/)/i

export interface SelectedRelation {
  /** The URI reference, as found (or expanded from the field's template). */
  readonly reference: string
  /** The field's annotation, when the schema has one; null for a plain string. */
  readonly rule: LinkRule | null
  /** True when a `Preload` selector reached it: the resource is preloaded (or pushed). */
  readonly preload: boolean
  /** What is left of the `Preload` selectors for the linked resource. */
  readonly preloadRest: readonly Selector[]
  /** What is left of the `Fields` selectors for it; null when all its fields are wanted. */
  readonly fieldsRest: readonly Selector[] | null
  /** Replaces the value in the document (query form: links carry the remaining selectors). */
  readonly replace: ((value: string) => void) | null
}

interface Cursor {
  readonly selector: Selector
  readonly position: number
}

export interface RelationWalk {
  readonly preload: readonly Selector[]
  /** The Fields tree, or null when the request has no `Fields`. */
  readonly fields: FieldTree | null
  readonly iriKey: string
  readonly onRelation: (relation: SelectedRelation) => void
}

/** Walks `document` along the selectors and reports each selected relation. */
export function selectRelations (document: unknown, plan: PlanNode | null, walk: RelationWalk): void {
  visit(document, plan, walk.preload.map((selector) => ({ selector, position: 0 })), walk.fields, walk, null)
}

function rest (cursor: Cursor): Selector {
  return { tokens: cursor.selector.tokens.slice(cursor.position), parameters: cursor.selector.parameters }
}

function visit (raw: unknown, plan: PlanNode | null, cursors: readonly Cursor[], fields: FieldTree | null, walk: RelationWalk, replace: SelectedRelation['replace']): void {
  const value = serialized(raw)
  const going = cursors.filter(({ selector, position }) => position < selector.tokens.length)
  const fieldsGoOn = fields !== null && !fields.leaf
  const rule = plan?.link == null ? null : ruleFor(plan.link, value)
  const container = typeof value === 'object' && value !== null

  if (!container || rule !== null) {
    // A relation: the selectors that reach it preload it; what goes on is for the linked resource.
    const reference = rule !== null ? referenceOf(rule.template, value, walk.iriKey) : typeof value === 'string' && LINK.test(value) ? value : null
    const ending = cursors.length > going.length
    if (reference !== null && (cursors.length > 0 || fieldsGoOn) && (!container || ending)) {
      walk.onRelation({
        reference,
        rule,
        preload: cursors.length > 0,
        // A selector that ends here with parameters (`"/member/*"; rel=author`) passes them on as `""; rel=author`.
        preloadRest: container ? [] : [...going.map(rest), ...cursors.filter((cursor) => !going.includes(cursor) && cursor.selector.parameters.size > 0).map(rest)],
        fieldsRest: fieldsGoOn ? fields.remainders() : null,
        replace: typeof value === 'string' ? replace : null
      })
    }
    if (!container) return
  }

  // An embedded document: the selectors (and Fields) that go on descend into it.
  const object = value as Record<string, unknown>
  for (const key of Object.keys(object)) {
    const next: Cursor[] = []
    for (const cursor of going) {
      const token = cursor.selector.tokens[cursor.position]
      if (token === WILDCARD || token === key) next.push({ selector: cursor.selector, position: cursor.position + 1 })
    }
    const childFields = fieldsGoOn ? fields.child(key) : null
    if (next.length === 0 && (childFields === null || childFields.leaf)) continue
    const child = plan === null ? null : childNode(plan, object, key)
    visit(object[key], child, next, childFields, walk, (url) => { object[key] = url })
  }
}
