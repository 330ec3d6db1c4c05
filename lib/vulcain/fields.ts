import { WILDCARD, type Selector, type SelectorToken } from './selectors.js'

/**
 * The `Fields` directive: the response holds only the selected fields that exist. Selectors
 * are merged into a tree; a selector that ends somewhere selects everything below it, and a
 * `*` next to a name applies to that name too ("all matched fields MUST be returned").
 */
export class FieldTree {
  /** A selector ends here: the whole value is selected. */
  leaf = false
  wildcard: FieldTree | null = null
  readonly children = new Map<string, FieldTree>()
  private readonly merged = new Map<string, FieldTree | null>()

  static of (selectors: readonly Selector[]): FieldTree {
    const root = new FieldTree()
    for (const { tokens } of selectors) {
      let node: FieldTree = root
      for (const part of tokens) {
        if (part === WILDCARD) node = node.wildcard ??= new FieldTree()
        else {
          let child = node.children.get(part)
          if (child === undefined) node.children.set(part, child = new FieldTree())
          node = child
        }
      }
      node.leaf = true
    }
    return root
  }

  /** The tree for the value at `key` below this node, or null when nothing selects it. */
  child (key: string): FieldTree | null {
    const named = this.children.get(key)
    if (named === undefined || this.wildcard === null) return named ?? this.wildcard
    let both = this.merged.get(key)
    if (both === undefined) this.merged.set(key, both = merge(named, this.wildcard))
    return both
  }

  private rest: Selector[] | null = null

  /** The selectors below this node, as remaining selectors for a linked resource (made once). */
  remainders (): Selector[] {
    if (this.rest === null) this.collect([], this.rest = [])
    return this.rest
  }

  private collect (prefix: SelectorToken[], out: Selector[]): void {
    if (this.leaf) out.push({ tokens: [...prefix], parameters: new Map() })
    for (const [name, child] of this.children) child.collect([...prefix, name], out)
    this.wildcard?.collect([...prefix, WILDCARD], out)
  }
}

function merge (a: FieldTree, b: FieldTree): FieldTree {
  const tree = new FieldTree()
  tree.leaf = a.leaf || b.leaf
  tree.wildcard = a.wildcard === null ? b.wildcard : b.wildcard === null ? a.wildcard : merge(a.wildcard, b.wildcard)
  for (const source of [a, b]) {
    for (const [name, child] of source.children) {
      const existing = tree.children.get(name)
      tree.children.set(name, existing === undefined ? child : merge(existing, child))
    }
  }
  return tree
}

/** Keywords whose value is one schema. */
const SCHEMA_KEYWORDS = new Set(['items', 'additionalItems', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames', 'unevaluatedItems', 'unevaluatedProperties'])
/** Keywords whose value is an array of schemas. */
const SCHEMA_ARRAY_KEYWORDS = new Set(['items', 'prefixItems', 'allOf', 'anyOf', 'oneOf'])
/** Keywords whose value maps names to schemas. */
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas'])

/** Where the shared schemas a derived schema needs are renamed to, so they do not clash with the originals. */
const DERIVED_ID = 'fastify-push-relations-fields:'

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The response schema a `Fields` response is serialized with: the route's schema with every
 * `required` dropped, since the filtered document lacks the fields the client left out (the
 * serializer would throw). Shared schemas behind a `$ref` are derived too, renamed and bundled
 * under `definitions`. Made once per route and response key, at first use; Fastify compiles it
 * once (`reply.compileSerializationSchema` caches by schema object).
 */
export function withoutRequired (schema: unknown, getSchema: (id: string) => unknown): unknown {
  const shared = new Map<string, unknown>()
  const pending: Array<[string, Record<string, unknown>]> = []
  const refOf = (ref: string): string => {
    const hash = ref.indexOf('#')
    const id = hash === -1 ? ref : ref.slice(0, hash)
    if (id === '') return ref
    if (!shared.has(id)) {
      const target = getSchema(id)
      if (!isObject(target)) return ref // an id of the schema itself (TypeBox's Recursive): kept
      shared.set(id, null)
      pending.push([id, target])
    }
    return DERIVED_ID + ref
  }
  const derive = (node: unknown): unknown => {
    if (!isObject(node)) return node
    const copy: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) {
      if (key === 'required') continue
      if (key === '$ref' && typeof value === 'string') copy[key] = refOf(value)
      else if (SCHEMA_ARRAY_KEYWORDS.has(key) && Array.isArray(value)) copy[key] = value.map(derive)
      else if (SCHEMA_KEYWORDS.has(key)) copy[key] = derive(value)
      else if (SCHEMA_MAP_KEYWORDS.has(key) && isObject(value)) copy[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, derive(child)]))
      else copy[key] = value
    }
    return copy
  }
  const root = derive(schema)
  if (pending.length === 0 || !isObject(root)) return root
  const bundle: Record<string, unknown> = isObject(root.definitions) ? { ...root.definitions } : {}
  for (let i = 0; i < pending.length; i++) {
    const [id, target] = pending[i] as [string, Record<string, unknown>]
    bundle[DERIVED_ID + id] = { ...derive(target) as Record<string, unknown>, $id: DERIVED_ID + id }
  }
  return { ...root, definitions: bundle }
}
