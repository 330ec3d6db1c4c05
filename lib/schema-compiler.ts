import { KEYWORD, parseAnnotation, sameRule, type LinkRule } from './annotation.js'
import type { ResolvedOptions } from './options.js'
import { escapePointerToken, parseJsonPointer } from './json-pointer.js'

/**
 * Where a response schema is compiled, once per route: the schema is walked a single time and
 * turned into a plan, a graph that holds only the paths that lead to `x-push` fields. At run
 * time the payload is visited along the plan, so a response pays for its annotated paths only.
 */

/** One node of a plan: what to do with the value found at one place of the payload. */
export interface PlanNode {
  /** Non-null when the value here is a relation. */
  link: LinkRule | null
  /** Properties whose subtree holds relations. */
  properties: Array<readonly [string, PlanNode]> | null
  /** `patternProperties` whose subtree holds relations. */
  patterns: Array<readonly [RegExp, PlanNode]> | null
  /** `additionalProperties` (and `Type.Record` values), when its subtree holds relations. */
  additional: PlanNode | null
  /** Every name in `properties`, live or not: `additionalProperties` does not apply to them. */
  declared: ReadonlySet<string> | null
  /** Every `patternProperties` pattern, live or not: `additionalProperties` does not apply to what they match. */
  declaredPatterns: readonly RegExp[] | null
  /** Array elements past `prefixItems` (or all of them). */
  items: PlanNode | null
  /** Tuple elements, by index; null where the element holds no relation. */
  prefixItems: Array<PlanNode | null> | null
}

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
  /** `$ref`s that could not be resolved yet (a shared schema added after the route). */
  readonly unresolved: readonly string[]
}

export type AnnotationError = (site: CompileSite, pointer: string, problem: string) => Error

type SchemaObject = Record<string, unknown>

/** A JSON Schema document: what `#` means for the `$ref`s inside it. */
interface SchemaDocument {
  readonly root: SchemaObject
  /** The document's `$id`, against which relative `$ref`s resolve. */
  readonly base: string
}

/** A schema together with the document it belongs to. */
interface Fragment {
  readonly schema: SchemaObject
  readonly document: SchemaDocument
}

type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'object' | 'array'

/** Keywords whose values are data, not subschemas: an `$id` inside them means nothing. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example'])

function isSchemaObject (value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isBareRef (schema: SchemaObject): boolean {
  for (const key in schema) if (key !== '$ref') return false
  return true
}

function resolveUri (reference: string, base: string): string {
  if (base === '' || !URL.canParse(reference, base)) return reference
  return new URL(reference, base).href
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
  annotationError: AnnotationError
): CompileResult {
  if (!isSchemaObject(schema)) return { plan: null, unresolved: [] }
  const compiler = new SchemaCompiler(getSchema, options, site, annotationError)
  const root: Fragment = { schema, document: compiler.documentOf(schema, '') }
  const node = compiler.compile([root], '')
  return { plan: compiler.prune(node), unresolved: [...compiler.unresolved] }
}

class SchemaCompiler {
  readonly unresolved = new Set<string>()
  /** Nodes by the set of schemas they were built from: the same set twice means recursion. */
  private readonly nodes = new Map<string, PlanNode>()
  private readonly schemaIds = new Map<object, number>()
  private readonly documentsById = new Map<string, SchemaDocument>()
  private readonly documentsByRoot = new WeakMap<object, SchemaDocument>()
  private readonly subschemasById = new Map<string, Fragment>()

  constructor (
    private readonly getSchema: (id: string) => unknown,
    private readonly options: ResolvedOptions,
    private readonly site: CompileSite,
    private readonly annotationError: AnnotationError
  ) {}

  /** The document rooted at `root`, indexing the `$id`s inside it on first sight. */
  documentOf (root: SchemaObject, fallbackBase: string): SchemaDocument {
    const known = this.documentsByRoot.get(root)
    if (known !== undefined) return known
    const base = typeof root.$id === 'string' ? resolveUri(root.$id, fallbackBase) : fallbackBase
    const document: SchemaDocument = { root, base }
    this.documentsByRoot.set(root, document)
    if (base !== '') this.documentsById.set(base, document)
    this.indexIds(root, document)
    return document
  }

  /** Records the subschemas that carry an `$id` (`Type.Recursive` names itself `T0`, `T1`...). */
  private indexIds (node: unknown, document: SchemaDocument): void {
    if (Array.isArray(node)) {
      for (const item of node) this.indexIds(item, document)
      return
    }
    if (!isSchemaObject(node)) return
    if (node !== document.root && typeof node.$id === 'string') {
      const subdocument = this.documentOf(node, document.base)
      this.subschemasById.set(node.$id, { schema: node, document: subdocument })
      this.subschemasById.set(subdocument.base, { schema: node, document: subdocument })
      return // documentOf indexed what lies below
    }
    for (const [key, value] of Object.entries(node)) {
      if (!DATA_KEYWORDS.has(key)) this.indexIds(value, document)
    }
  }

  private idOf (schema: object): number {
    let id = this.schemaIds.get(schema)
    if (id === undefined) {
      id = this.schemaIds.size + 1
      this.schemaIds.set(schema, id)
    }
    return id
  }

  /** Follows a `$ref`: local `#` pointers, local `$id`s, then shared schemas of the route's context. */
  private resolveRef (reference: string, from: Fragment): Fragment | null {
    const hash = reference.indexOf('#')
    const id = hash === -1 ? reference : reference.slice(0, hash)
    const pointer = hash === -1 ? '' : reference.slice(hash + 1)
    let document: SchemaDocument | null = from.document
    if (id !== '') {
      const absolute = resolveUri(id, from.document.base)
      document = this.findDocument(absolute) ?? this.findDocument(id)
    }
    if (document === null) return null
    const tokens = parseJsonPointer(pointer)
    if (tokens === null) return null
    let target: unknown = document.root
    for (const token of tokens) {
      target = isSchemaObject(target) || Array.isArray(target) ? (target as Record<string, unknown>)[token] : undefined
    }
    return isSchemaObject(target) ? { schema: target, document } : null
  }

  private findDocument (id: string): SchemaDocument | null {
    const local = this.subschemasById.get(id)
    if (local !== undefined) return local.document
    const known = this.documentsById.get(id)
    if (known !== undefined) return known
    const shared = this.getSchema(id)
    return isSchemaObject(shared) ? this.documentOf(shared, id) : null
  }

  /**
   * Every schema that applies to the same value: the schema itself, what its `$ref` points to,
   * and the branches of `allOf`, `anyOf`, `oneOf` and `if`/`then`/`else`. Every branch is
   * followed, because which one matched is only known once the data is validated.
   */
  private expand (entries: readonly Fragment[]): Fragment[] {
    const out: Fragment[] = []
    const seen = new Set<object>()
    const queue = [...entries]
    for (let i = 0; i < queue.length; i++) {
      const { schema, document } = queue[i] as Fragment
      if (seen.has(schema)) continue
      seen.add(schema)
      const own = typeof schema.$id === 'string' ? this.documentOf(schema, document.base) : document
      const fragment = { schema, document: own }
      out.push(fragment)
      if (typeof schema.$ref === 'string') {
        const target = this.resolveRef(schema.$ref, fragment)
        if (target === null) this.unresolved.add(schema.$ref)
        else queue.push(target)
      }
      for (const keyword of ['allOf', 'anyOf', 'oneOf']) {
        const branches = schema[keyword]
        if (Array.isArray(branches)) {
          for (const branch of branches) if (isSchemaObject(branch)) queue.push({ schema: branch, document: own })
        }
      }
      for (const keyword of ['then', 'else']) {
        const branch = schema[keyword]
        if (isSchemaObject(branch)) queue.push({ schema: branch, document: own })
      }
    }
    return out
  }

  /** Builds the node for the value the `entries` describe, found at `pointer` in the payload. */
  compile (entries: readonly Fragment[], pointer: string): PlanNode {
    const fragments = this.expand(entries)
    // A bare `{ $ref }` adds nothing of its own: leaving it out of the key closes recursion at its first repeat.
    const key = fragments.filter(({ schema }) => !isBareRef(schema)).map(({ schema }) => this.idOf(schema)).sort((a, b) => a - b).join(',')
    const known = this.nodes.get(key)
    if (known !== undefined) return known // recursion: the plan becomes a cycle, the data bounds the walk

    const node: PlanNode = {
      link: null, properties: null, patterns: null, additional: null, declared: null, declaredPatterns: null, items: null, prefixItems: null
    }
    this.nodes.set(key, node)
    node.link = this.linkRule(fragments, pointer)

    const properties = new Map<string, Fragment[]>()
    const patterns = new Map<string, Fragment[]>()
    const additional: Fragment[] = []
    const prefixItems: Fragment[][] = []
    const items: Fragment[] = []
    const add = (list: Fragment[], value: unknown, document: SchemaDocument): void => {
      if (isSchemaObject(value)) list.push({ schema: value, document })
    }
    const listOf = <K>(map: Map<K, Fragment[]>, key: K): Fragment[] => {
      let list = map.get(key)
      if (list === undefined) map.set(key, list = [])
      return list
    }
    for (const { schema, document } of fragments) {
      if (isSchemaObject(schema.properties)) {
        for (const [name, value] of Object.entries(schema.properties)) add(listOf(properties, name), value, document)
      }
      if (isSchemaObject(schema.patternProperties)) {
        for (const [source, value] of Object.entries(schema.patternProperties)) add(listOf(patterns, source), value, document)
      }
      add(additional, schema.additionalProperties, document)
      // Draft 2020-12 tuples use prefixItems + items; draft-07 (TypeBox's Type.Tuple) uses an items array + additionalItems.
      const tuple = Array.isArray(schema.prefixItems) ? schema.prefixItems : Array.isArray(schema.items) ? schema.items : null
      tuple?.forEach((value: unknown, index: number) => {
        add(prefixItems[index] ??= [], value, document)
      })
      add(items, Array.isArray(schema.items) ? schema.additionalItems : schema.items, document)
    }

    if (properties.size > 0) {
      node.declared = new Set(properties.keys())
      node.properties = [...properties].map(([name, list]) => [name, this.compile(list, `${pointer}/${escapePointerToken(name)}`)] as const)
    }
    if (patterns.size > 0) {
      const compiled: Array<readonly [RegExp, PlanNode]> = []
      for (const [source, list] of patterns) {
        const regexp = toRegExp(source)
        // An invalid pattern fails Fastify's own serializer build; nothing to add here.
        if (regexp !== null) compiled.push([regexp, this.compile(list, `${pointer}/*`)])
      }
      node.patterns = compiled
      node.declaredPatterns = compiled.map(([regexp]) => regexp)
    }
    if (additional.length > 0) node.additional = this.compile(additional, `${pointer}/*`)
    if (prefixItems.length > 0) {
      node.prefixItems = Array.from(prefixItems, (list, index) => list === undefined ? null : this.compile(list, `${pointer}/${index}`))
    }
    if (items.length > 0) node.items = this.compile(items, `${pointer}/*`)
    return node
  }

  /** The annotation on this value, checked against what the schema says the value can be. */
  private linkRule (fragments: readonly Fragment[], pointer: string): LinkRule | null {
    let rule: LinkRule | null = null
    for (const { schema } of fragments) {
      if (!(KEYWORD in schema)) continue
      const parsed = parseAnnotation(schema[KEYWORD], this.options)
      if (typeof parsed === 'string') throw this.annotationError(this.site, pointer, parsed)
      if (parsed === null) continue
      if (rule !== null && !sameRule(rule, parsed)) {
        throw this.annotationError(this.site, pointer, 'two different x-push annotations apply to the same value')
      }
      rule = parsed
    }
    if (rule !== null) {
      const problem = this.holderProblem(fragments, rule, true)
      if (problem !== null) throw this.annotationError(this.site, pointer, problem)
    }
    return rule
  }

  /**
   * Why a value of this schema cannot hold a link under `rule`, or null when it can. A union is
   * fine when one of its types can (`string | null`); values of the other types are skipped.
   */
  private holderProblem (fragments: readonly Fragment[], rule: LinkRule, arrayAllowed: boolean): string | null {
    const types = declaredTypes(fragments)
    if (types === null) return null // anything goes (Type.Any, Type.Unknown): checked value by value
    const variables = rule.template?.variables ?? []
    let problem: string | null = null
    for (const type of types) {
      let reason: string | null
      switch (type) {
        case 'string':
          reason = variables.length > 1 ? `template "${rule.template?.source}" has ${variables.length} variables; on a string it needs exactly one` : null
          break
        case 'number':
        case 'integer':
          reason = rule.template === null
            ? 'a number cannot be a link by itself: use a URI template such as "/authors/{id}"'
            : variables.length > 1 ? `template "${rule.template.source}" has ${variables.length} variables; on a number it needs exactly one` : null
          break
        case 'object':
          reason = this.objectProblem(fragments, rule)
          break
        case 'array':
          reason = arrayAllowed ? this.itemsProblem(fragments, rule) : 'an array of arrays cannot hold links; annotate the inner items'
          break
        case 'boolean':
          reason = 'a boolean cannot hold a link'
          break
        default: // null: skipped at run time, neither a holder nor a problem
          continue
      }
      if (reason === null) return null
      problem ??= reason
    }
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

  private itemsProblem (fragments: readonly Fragment[], rule: LinkRule): string | null {
    const elements: Fragment[] = []
    for (const { schema, document } of fragments) {
      const candidates = [
        ...(Array.isArray(schema.prefixItems) ? schema.prefixItems : []),
        ...(Array.isArray(schema.items) ? [...schema.items, schema.additionalItems] : [schema.items])
      ]
      for (const candidate of candidates) if (isSchemaObject(candidate)) elements.push({ schema: candidate, document })
    }
    return elements.length === 0 ? null : this.holderProblem(this.expand(elements), rule, false)
  }

  /** Keeps only the nodes from which a link can be reached; null when there is none. */
  prune (root: PlanNode): PlanNode | null {
    const all = [...this.nodes.values()]
    const live = new Set(all.filter((node) => node.link !== null))
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
      node.properties = nonEmpty(node.properties?.filter(([, child]) => live.has(child)))
      node.patterns = nonEmpty(node.patterns?.filter(([, child]) => live.has(child)))
      node.additional = keep(node.additional)
      if (node.additional === null) {
        node.declared = null
        node.declaredPatterns = null
      }
      node.items = keep(node.items)
      node.prefixItems = node.prefixItems !== null && node.prefixItems.some((child) => keep(child) !== null)
        ? node.prefixItems.map(keep)
        : null
    }
    return keep(root)
  }
}

function nonEmpty<T> (list: T[] | undefined): T[] | null {
  return list === undefined || list.length === 0 ? null : list
}

function childrenOf (node: PlanNode): PlanNode[] {
  const children: PlanNode[] = []
  for (const [, child] of node.properties ?? []) children.push(child)
  for (const [, child] of node.patterns ?? []) children.push(child)
  for (const child of node.prefixItems ?? []) if (child !== null) children.push(child)
  if (node.additional !== null) children.push(node.additional)
  if (node.items !== null) children.push(node.items)
  return children
}

/** JSON Schema patterns are ECMA-262 regular expressions, with Unicode semantics as in Ajv. */
function toRegExp (source: string): RegExp | null {
  try {
    return new RegExp(source, 'u')
  } catch {
    return null
  }
}

const JSON_TYPES = new Set<string>(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array'])

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

/**
 * The payload pointers a plan preloads, for introspection: `*` stands for every array element
 * or object value, and a pointer ending in `/**` marks recursion (what is listed for the
 * enclosing node repeats there, as deep as the data goes).
 */
export function planPointers (root: PlanNode): string[] {
  const pointers = new Set<string>()
  const onPath = new Set<PlanNode>()
  const visit = (node: PlanNode, pointer: string): void => {
    if (onPath.has(node)) {
      pointers.add(`${pointer}/**`)
      return
    }
    onPath.add(node)
    if (node.link !== null) pointers.add(pointer)
    for (const [name, child] of node.properties ?? []) visit(child, `${pointer}/${escapePointerToken(name)}`)
    for (const [, child] of node.patterns ?? []) visit(child, `${pointer}/*`)
    if (node.additional !== null) visit(node.additional, `${pointer}/*`)
    node.prefixItems?.forEach((child, index) => { if (child !== null) visit(child, `${pointer}/${index}`) })
    if (node.items !== null) visit(node.items, `${pointer}/*`)
    onPath.delete(node)
  }
  visit(root, '')
  return [...pointers]
}
