import { childNode, referenceOf, ruleFor, serialized } from '../collect/link-collector.js'
import type { FieldTree } from './fields.js'
import { WILDCARD, type Selector } from './selectors.js'
import type { LinkRule, PlanNode } from '../plan/plan-node.js'

/**
 * The relations a Vulcain request selects in a document, and the document the response holds:
 * one walk over the payload OBJECT (never the serialized body), along the `Preload` selectors
 * and the `Fields` tree, reading values as the serializer will (`toJSON()` results). It builds
 * a new document only where the body changes (Fields drop members, the query form rewrites
 * links) and shares everything else with the payload.
 *
 * A value is a relation when the route's schema annotates it with `x-push` (so `"author": 1`
 * with `'x-push': '/authors/{id}'` is `/authors/1`), or, with `relations: 'any'`, when it is
 * a string that looks like a link. With `relations: 'schema'` the plan also marks the strings
 * whose schema says `format: 'uri-reference'` (or `uri`, `iri-reference`).
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
  /** The cursors that reached it: what remains of `Preload` for the linked resource. */
  readonly cursors: CursorSet
  /** What is left of the `Fields` selectors for it; null when all its fields are wanted. */
  readonly fields: FieldTree | null
  /** True when the value is a string the query form may rewrite in the document. */
  readonly rewritable: boolean
}

interface Cursor {
  readonly selector: Selector
  readonly position: number
}

/**
 * The `Preload` cursors at one place of the document. Every set derived from it is made once
 * and remembered (the set for a key, what remains for a linked resource), so a wildcard over a
 * 20,000-element array groups its cursors once, not 20,000 times. Root sets are cached per
 * directive value by the caller, so this work is shared by the requests that send the same one.
 */
export class CursorSet {
  /** The cursors whose selector goes on past this place. */
  readonly going: readonly Cursor[]
  /** True when a selector ends here. */
  readonly ending: boolean
  private wild: CursorSet | null = null
  private named: Map<string, CursorSet> | null = null
  private remaining: Selector[] | null = null
  /** What `remainders` memoized per Fields node: query-form suffixes and the like. */
  readonly memo = new Map<FieldTree | null, string>()

  constructor (readonly cursors: readonly Cursor[]) {
    this.going = cursors.filter(({ selector, position }) => position < selector.tokens.length)
    this.ending = this.going.length < cursors.length
  }

  static of (selectors: readonly Selector[]): CursorSet {
    return new CursorSet(selectors.map((selector) => ({ selector, position: 0 })))
  }

  get size (): number {
    return this.cursors.length
  }

  /** The cursors that go on into the member `key`. */
  next (key: string): CursorSet {
    if (this.named === null) this.group()
    return (this.named as Map<string, CursorSet>).get(key) ?? this.wild as CursorSet
  }

  /** The one name the selectors go on with here, when there is no `*`; null otherwise. */
  onlyName (): string | null {
    if (this.named === null) this.group()
    if (this.wild !== EMPTY || (this.named as Map<string, CursorSet>).size !== 1) return null
    return (this.named as Map<string, CursorSet>).keys().next().value as string
  }

  private group (): void {
    const wild: Cursor[] = []
    const named = new Map<string, Cursor[]>()
    for (const cursor of this.going) {
      const token = cursor.selector.tokens[cursor.position] as string | typeof WILDCARD
      const advanced = { selector: cursor.selector, position: cursor.position + 1 }
      if (token === WILDCARD) wild.push(advanced)
      else {
        let list = named.get(token)
        if (list === undefined) named.set(token, list = [])
        list.push(advanced)
      }
    }
    this.wild = wild.length === 0 ? EMPTY : new CursorSet(wild)
    this.named = new Map()
    // A name and a `*` at the same place both apply: the named set holds both, in selector order.
    for (const [name, list] of named) this.named.set(name, new CursorSet(wild.length === 0 ? list : [...list, ...wild]))
  }

  /**
   * What remains of the selectors for the resource a relation here links to. A selector that
   * ends here with parameters (`"/member/*"; rel=author`) passes them on as `""; rel=author`.
   */
  rest (): Selector[] {
    this.remaining ??= [
      ...this.going.map(restOf),
      ...this.cursors.filter((cursor) => !this.going.includes(cursor) && cursor.selector.parameters.size > 0).map(restOf)
    ]
    return this.remaining
  }
}

const EMPTY = new CursorSet([])

function restOf (cursor: Cursor): Selector {
  return { tokens: cursor.selector.tokens.slice(cursor.position), parameters: cursor.selector.parameters }
}

export interface RelationWalk {
  readonly iriKey: string
  /** False with `relations: 'schema'`: only what the plan marks is a relation. */
  readonly plainStrings: boolean
  /**
   * Called for each selected relation; returns the value the document holds there instead
   * (query form), or null to keep it.
   */
  readonly onRelation: (relation: SelectedRelation) => string | null
  /** True once `Preload` can do nothing more (links capped, budget spent): its cursors are dropped. */
  readonly exhausted: () => boolean
}

/**
 * Walks `document` along the selectors and reports each selected relation. Returns the document
 * the response holds: `document` itself when nothing changed.
 */
export function walkDocument (document: unknown, plan: PlanNode | null, cursors: CursorSet, fields: FieldTree | null, walk: RelationWalk): unknown {
  return visit(document, plan, cursors, fields, walk)
}

function visit (raw: unknown, plan: PlanNode | null, cursors: CursorSet, fields: FieldTree | null, walk: RelationWalk): unknown {
  if (cursors.size > 0 && walk.exhausted()) cursors = EMPTY
  const filter = fields !== null && !fields.leaf
  if (cursors.size === 0 && !filter) return raw
  const value = serialized(raw)
  const rule = plan?.link == null ? null : ruleFor(plan.link, value)
  const container = typeof value === 'object' && value !== null

  if (!container || rule !== null) {
    // A relation: the selectors that reach it preload it; what goes on is for the linked resource.
    const reference = rule !== null
      ? referenceOf(rule.template, value, walk.iriKey)
      : typeof value === 'string' && walk.plainStrings && LINK.test(value) ? value : null
    if (reference !== null && (!container || cursors.ending)) {
      const replacement = walk.onRelation({
        reference,
        rule,
        preload: cursors.size > 0,
        cursors,
        fields: filter ? fields : null,
        rewritable: typeof value === 'string'
      })
      if (replacement !== null) return replacement
    }
    if (!container) return value
  }
  // Every selector ends here, and Fields keep the whole value: nothing below to read.
  if (!filter && cursors.going.length === 0) return value

  if (Array.isArray(value)) {
    let out: unknown[] | null = filter ? [] : null
    let last = -1
    for (let index = 0; index < value.length; index++) {
      const key = String(index)
      const childFields = filter ? fields.child(key) : null
      if (filter && childFields === null) continue
      const next = cursors.next(key)
      const element: unknown = value[index]
      const result = next.size === 0 && (childFields === null || childFields.leaf)
        ? element
        : visit(element, plan === null ? null : childNode(plan, value, key), next, childFields, walk)
      if (out === null && result !== element) out = value.slice(0, index)
      if (out !== null) out[index] = result
      last = index
    }
    if (out === null) return value
    // Explicit indexes keep their positions: the elements not selected are null (as the Go gateway does).
    if (filter) for (let index = 0; index <= last; index++) if (!(index in out)) out[index] = null
    return out
  }

  const object = value as Record<string, unknown>
  const only = filter ? null : cursors.onlyName()
  if (only !== null) {
    // One name and no `*` here (`/author`, `/member`): one lookup instead of a pass over the members.
    // Read as the serializer reads a declared property: a getter of a class counts too.
    const member = object[only]
    if (member === undefined || typeof member === 'function') return value
    const result = visit(member, plan === null ? null : childNode(plan, object, only), cursors.next(only), null, walk)
    if (result === member) return value
    const copy = copyUntil(object, Object.keys(object), Infinity)
    setMember(copy, only, result)
    return copy
  }
  let out: Record<string, unknown> | null = filter ? {} : null
  const keys = Object.keys(object)
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string
    const childFields = filter ? fields.child(key) : null
    if (filter && childFields === null) continue
    const next = cursors.next(key)
    const member = object[key]
    const result = next.size === 0 && (childFields === null || childFields.leaf)
      ? member
      : visit(member, plan === null ? null : childNode(plan, object, key), next, childFields, walk)
    if (out === null && result !== member) out = copyUntil(object, keys, i)
    if (out !== null) setMember(out, key, result)
  }
  if (filter) {
    // A selected name that is no own member may still be a getter the serializer reads (a class).
    for (const name of fields.children.keys()) {
      if (Object.prototype.hasOwnProperty.call(object, name) || !(name in object) || name in Object.prototype) continue
      const member = object[name]
      if (member === undefined || typeof member === 'function') continue
      setMember(out as Record<string, unknown>, name, visit(member, plan === null ? null : childNode(plan, object, name), cursors.next(name), fields.child(name), walk))
    }
  }
  return out ?? value
}

/** A copy of the members before `end`: the query form rewrites a link, the payload stays as it was. */
function copyUntil (object: Record<string, unknown>, keys: readonly string[], end: number): Record<string, unknown> {
  const copy: Record<string, unknown> = {}
  for (let i = 0; i < end && i < keys.length; i++) setMember(copy, keys[i] as string, object[keys[i] as string])
  return copy
}

/**
 * Plain objects (a prototype-less one is a slow dictionary for V8 and for the serializer); a
 * `"__proto__"` member of the document stays a member, never the prototype.
 */
function setMember (object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true })
  else object[key] = value
}
