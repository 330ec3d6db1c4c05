import { sameRule } from '../annotation/annotation.js'
import { escapePointerToken } from './json-pointer.js'
import { LinkRulesBuilder } from './link-rules.js'
import type { ResolvedOptions } from '../options.js'
import { isSchemaObject, SchemaResolver, type Fragment, type SchemaDocument, type SchemaObject } from './schema-resolver.js'
import type { PlanNode } from '../plan/plan-node.js'

/**
 * Where a response schema is compiled, once per route: the schema is walked a single time and
 * turned into a plan, a graph that holds only the paths that lead to `x-push` fields. At run
 * time the payload is visited along the plan, so a response pays for its annotated paths only.
 *
 * The plan follows the payload the way Fastify's serializer (fast-json-stringify) does, so
 * that links name what the body holds: declared properties first, then for other names the
 * first matching `patternProperties` pattern, else `additionalProperties`.
 */

/** Where the compiler reports a problem: everything a user needs to find the annotation. */
export interface CompileSite {
  /** `GET /books/:id` */
  readonly route: string
  /** The response key: `200`, `2xx`, `default`, with ` application/json` for content maps. */
  readonly response: string
}

export interface CompileResult {
  /** Null when no `x-push` is reachable: the route needs no hooks for this response. */
  readonly plan: PlanNode | null
  /** `$ref`s that could not be resolved (yet: a shared schema may be added after the route). */
  readonly unresolved: readonly string[]
}

export type AnnotationError = (site: CompileSite, pointer: string, problem: string) => Error

function isBareRef (schema: SchemaObject): boolean {
  for (const key in schema) if (key !== '$ref') return false
  return true
}

/**
 * Compiles one response schema. `getSchema` resolves shared schemas (`fastify.getSchema` in the
 * route's own encapsulation context). Throws `annotationError(...)` for annotations that cannot work.
 */
export function compileResponseSchema (
  schema: unknown,
  getSchema: (id: string) => unknown,
  options: ResolvedOptions,
  site: CompileSite,
  annotationError: AnnotationError,
  formatRelations = false
): CompileResult {
  if (!isSchemaObject(schema)) return { plan: null, unresolved: [] }
  const resolver = new SchemaResolver(getSchema)
  const compiler = new SchemaCompiler(resolver, new LinkRulesBuilder(resolver, options, formatRelations), site, annotationError, options.cacheTags === null ? null : options.iriKey)
  const node = compiler.compile([{ schema, document: resolver.documentOf(schema, '') }], '')
  return { plan: compiler.prune(node), unresolved: [...resolver.unresolved] }
}

class SchemaCompiler {
  /** Nodes by the set of schemas they were built from: the same set twice means recursion. */
  private readonly nodes = new Map<string, PlanNode>()
  private readonly schemaIds = new Map<object, number>()

  constructor (
    private readonly resolver: SchemaResolver,
    private readonly rules: LinkRulesBuilder,
    private readonly site: CompileSite,
    private readonly annotationError: AnnotationError,
    /** The IRI property whose objects are kept in the plan for their cache tag; null without cacheTags. */
    private readonly tagIriKey: string | null = null
  ) {}

  private idOf (schema: object): number {
    let id = this.schemaIds.get(schema)
    if (id === undefined) {
      id = this.schemaIds.size + 1
      this.schemaIds.set(schema, id)
    }
    return id
  }

  /** Builds the node for the value the `entries` describe, found at `pointer` in the payload. */
  compile (entries: readonly Fragment[], pointer: string): PlanNode {
    const fragments = this.resolver.expand(entries)
    // A bare `{ $ref }` adds nothing of its own: leaving it out of the key closes recursion at its first repeat.
    const key = fragments.filter(({ schema }) => !isBareRef(schema)).map(({ schema }) => this.idOf(schema)).sort((a, b) => a - b).join(',')
    const known = this.nodes.get(key)
    if (known !== undefined) return known // recursion: the plan becomes a cycle, the data bounds the walk

    const node: PlanNode = { link: null, properties: null, declared: null, patterns: null, additional: null, prefixItems: null, items: null }
    this.nodes.set(key, node)
    const rules = this.rules.rulesOf(fragments, entries)
    if (typeof rules === 'string') throw this.annotationError(this.site, pointer, rules)
    node.link = rules
    this.compileObject(node, fragments, pointer)
    this.compileArray(node, fragments, pointer)
    return node
  }

  private compileObject (node: PlanNode, fragments: readonly Fragment[], pointer: string): void {
    const properties = new Map<string, Fragment[]>()
    const patterns = new Map<string, Fragment[]>()
    const additional: Fragment[] = []
    for (const { schema, document } of fragments) {
      if (isSchemaObject(schema.properties)) {
        for (const [name, value] of Object.entries(schema.properties)) add(listOf(properties, name), value, document)
      }
      if (isSchemaObject(schema.patternProperties)) {
        for (const [source, value] of Object.entries(schema.patternProperties)) add(listOf(patterns, source), value, document)
      }
      add(additional, schema.additionalProperties, document)
    }
    if (this.tagIriKey !== null && properties.has(this.tagIriKey)) node.iri = true
    if (properties.size > 0) {
      node.declared = new Set(properties.keys())
      node.properties = [...properties].map(([name, list]) => [name, this.compile(list, `${pointer}/${escapePointerToken(name)}`)] as const)
    }
    const compiled: Array<readonly [RegExp, PlanNode | null]> = []
    for (const [source, list] of patterns) {
      const regexp = toRegExp(source)
      // An invalid pattern fails Fastify's own serializer build; nothing to add here.
      if (regexp !== null) compiled.push([regexp, this.compile(list, `${pointer}/*`)])
    }
    if (compiled.length > 0) node.patterns = compiled
    if (additional.length > 0) node.additional = this.compile(additional, `${pointer}/*`)
  }

  /**
   * Tuples: draft 2020-12 writes `prefixItems` + `items`, draft-07 (TypeBox's `Type.Tuple`) an
   * `items` array + `additionalItems`. When several schemas describe the array (a union of a
   * tuple and a list), each contributes its tuple member at an index, or else its rest.
   */
  private compileArray (node: PlanNode, fragments: readonly Fragment[], pointer: string): void {
    const arrays: Array<{ tuple: readonly unknown[], rest: unknown, document: SchemaDocument }> = []
    for (const { schema, document } of fragments) {
      const tuple = Array.isArray(schema.prefixItems) ? schema.prefixItems : Array.isArray(schema.items) ? schema.items : []
      const rest = Array.isArray(schema.items) ? schema.additionalItems : schema.items
      if (tuple.length > 0 || isSchemaObject(rest)) arrays.push({ tuple, rest, document })
    }
    const longest = Math.max(0, ...arrays.map(({ tuple }) => tuple.length))
    if (longest > 0) {
      node.prefixItems = Array.from({ length: longest }, (_, index) => {
        const list: Fragment[] = []
        for (const { tuple, rest, document } of arrays) add(list, index < tuple.length ? tuple[index] : rest, document)
        return list.length === 0 ? null : this.compile(list, `${pointer}/${index}`)
      })
    }
    const items: Fragment[] = []
    for (const { rest, document } of arrays) add(items, rest, document)
    if (items.length > 0) node.items = this.compile(items, `${pointer}/*`)
    node.prefixItems?.forEach((child, index) => { this.checkElementRules(node, child, `${pointer}/${index}`) })
    this.checkElementRules(node, node.items, `${pointer}/*`)
  }

  /**
   * An annotation on an array applies to each element, and so does one on its items: two
   * different ones would give two links per element. As for any value, that fails at startup.
   */
  private checkElementRules (array: PlanNode, element: PlanNode | null, pointer: string): void {
    const outer = array.link
    const inner = element?.link ?? null
    if (outer === null || inner === null) return
    for (const kind of ['string', 'number', 'object'] as const) {
      const a = outer[kind]
      const b = inner[kind]
      if (a !== null && b !== null && !sameRule(a, b)) {
        throw this.annotationError(this.site, pointer, `the array and its items have two different x-push annotations for the same ${kind} value; keep one`)
      }
    }
  }

  /** Keeps only the nodes from which a link can be reached; null when there is none. */
  prune (root: PlanNode): PlanNode | null {
    const all = [...this.nodes.values()]
    const live = new Set(all.filter((node) => node.link !== null || node.iri === true))
    for (let changed = true; changed;) {
      changed = false
      for (const node of all) {
        if (!live.has(node) && childrenOf(node).some((child) => live.has(child))) {
          live.add(node)
          changed = true
        }
      }
    }
    const keep = (node: PlanNode | null): PlanNode | null => node !== null && live.has(node) ? node : null
    for (const node of live) {
      const properties = node.properties?.filter(([, child]) => live.has(child)) ?? []
      node.properties = properties.length > 0 ? properties : null
      node.additional = keep(node.additional)
      // Dead patterns stay (mapped to null): the first matching pattern decides, as in the serializer.
      const patterns = node.patterns?.map(([regexp, child]) => [regexp, keep(child)] as const) ?? []
      node.patterns = node.additional !== null || patterns.some(([, child]) => child !== null) ? patterns : null
      if (node.patterns === null && node.additional === null) node.declared = null
      node.items = keep(node.items)
      node.prefixItems = node.prefixItems?.some((child) => keep(child) !== null) === true ? node.prefixItems.map(keep) : null
    }
    return keep(root)
  }
}

function add (list: Fragment[], value: unknown, document: SchemaDocument): void {
  if (isSchemaObject(value)) list.push({ schema: value, document })
}

function listOf<K> (map: Map<K, Fragment[]>, key: K): Fragment[] {
  let list = map.get(key)
  if (list === undefined) map.set(key, list = [])
  return list
}

function childrenOf (node: PlanNode): PlanNode[] {
  const children: PlanNode[] = []
  for (const [, child] of node.properties ?? []) children.push(child)
  for (const [, child] of node.patterns ?? []) if (child !== null) children.push(child)
  for (const child of node.prefixItems ?? []) if (child !== null) children.push(child)
  if (node.additional !== null) children.push(node.additional)
  if (node.items !== null) children.push(node.items)
  return children
}

/** Patterns are compiled as the serializer compiles them: `new RegExp(pattern)`, no flags. */
function toRegExp (source: string): RegExp | null {
  try {
    return new RegExp(source)
  } catch {
    return null
  }
}

/**
 * The payload pointers a plan preloads, for introspection: `*` stands for every array element
 * or object value, and a pointer ending in `/**` marks recursion (what is listed for the
 * enclosing node repeats there, as deep as the data goes).
 */
export function planPointers (root: PlanNode): string[] {
  const pointers = new Set<string>()
  const onPath = new Set<PlanNode>()
  const visit = (node: PlanNode | null, pointer: string): void => {
    if (node === null) return
    if (onPath.has(node)) {
      pointers.add(`${pointer}/**`)
      return
    }
    onPath.add(node)
    if (node.link !== null) pointers.add(pointer)
    for (const [name, child] of node.properties ?? []) visit(child, `${pointer}/${escapePointerToken(name)}`)
    for (const [, child] of node.patterns ?? []) visit(child, `${pointer}/*`)
    visit(node.additional, `${pointer}/*`)
    node.prefixItems?.forEach((child, index) => { visit(child, `${pointer}/${index}`) })
    visit(node.items, `${pointer}/*`)
    onPath.delete(node)
  }
  visit(root, '')
  return [...pointers]
}
