import { parseJsonPointer } from './json-pointer.js'

/**
 * JSON Schema references, as Fastify resolves them: `$ref` to shared schemas (`addSchema`,
 * looked up in the route's own encapsulation context), to `$id`s and anchors inside the
 * schema, and to JSON Pointers (`#/definitions/author`).
 */

export type SchemaObject = Record<string, unknown>

/** A JSON Schema document: what `#` means for the `$ref`s inside it. */
export interface SchemaDocument {
  readonly root: SchemaObject
  /** The document's `$id`, against which relative `$ref`s resolve. */
  readonly base: string
}

/** A schema together with the document it belongs to. */
export interface Fragment {
  readonly schema: SchemaObject
  readonly document: SchemaDocument
}

/** Keywords whose values are data, not subschemas: an `$id` inside them means nothing. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example'])

export function isSchemaObject (value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function resolveUri (reference: string, base: string): string {
  if (base === '' || !URL.canParse(reference, base)) return reference
  return new URL(reference, base).href
}

export class SchemaResolver {
  /** `$ref`s that could not be resolved (a shared schema added after the route, a typo...). */
  readonly unresolved = new Set<string>()
  private readonly documentsById = new Map<string, SchemaDocument>()
  private readonly documentsByRoot = new WeakMap<object, SchemaDocument>()
  /** Plain-name fragments: draft-07 `$id: '#name'` and 2019+ `$anchor: 'name'`, per document. */
  private readonly anchors = new WeakMap<SchemaDocument, Map<string, SchemaObject>>()

  constructor (private readonly getSchema: (id: string) => unknown) {}

  /** The document rooted at `root`, indexing the `$id`s and anchors inside it on first sight. */
  documentOf (root: SchemaObject, fallbackBase: string): SchemaDocument {
    const known = this.documentsByRoot.get(root)
    if (known !== undefined) return known
    const base = typeof root.$id === 'string' && !root.$id.startsWith('#') ? resolveUri(root.$id, fallbackBase) : fallbackBase
    const document: SchemaDocument = { root, base }
    this.documentsByRoot.set(root, document)
    this.anchors.set(document, new Map())
    if (base !== '') this.documentsById.set(base, document)
    this.index(root, document)
    return document
  }

  /** Records subschemas with an `$id` (`Type.Recursive` names itself `T0`, `T1`...) and anchors. */
  private index (node: unknown, document: SchemaDocument): void {
    if (Array.isArray(node)) {
      for (const item of node) this.index(item, document)
      return
    }
    if (!isSchemaObject(node)) return
    const anchor = typeof node.$anchor === 'string'
      ? node.$anchor
      : typeof node.$id === 'string' && node.$id.startsWith('#') ? node.$id.slice(1) : null
    if (anchor !== null) this.anchors.get(document)?.set(anchor, node)
    if (node !== document.root && typeof node.$id === 'string' && !node.$id.startsWith('#')) {
      const subdocument = this.documentOf(node, document.base)
      this.documentsById.set(node.$id, subdocument)
      return // documentOf indexed what lies below
    }
    for (const [key, value] of Object.entries(node)) {
      if (!DATA_KEYWORDS.has(key)) this.index(value, document)
    }
  }

  /** Follows a `$ref` from `from`; null when it leads nowhere. */
  resolveRef (reference: string, from: Fragment): Fragment | null {
    const hash = reference.indexOf('#')
    const id = hash === -1 ? reference : reference.slice(0, hash)
    const fragment = hash === -1 ? '' : reference.slice(hash + 1)
    const document = id === '' ? from.document : this.findDocument(resolveUri(id, from.document.base)) ?? this.findDocument(id)
    if (document === null) return null
    if (fragment !== '' && !fragment.startsWith('/') && !fragment.startsWith('%2F')) {
      const anchored = this.anchors.get(document)?.get(fragment)
      return anchored === undefined ? null : { schema: anchored, document }
    }
    const tokens = parseJsonPointer(fragment)
    if (tokens === null) return null
    let target: unknown = document.root
    for (const token of tokens) {
      target = isSchemaObject(target) || Array.isArray(target) ? (target as Record<string, unknown>)[token] : undefined
    }
    return isSchemaObject(target) ? { schema: target, document } : null
  }

  private findDocument (id: string): SchemaDocument | null {
    const known = this.documentsById.get(id)
    if (known !== undefined) return known
    const shared = this.getSchema(id)
    return isSchemaObject(shared) ? this.documentOf(shared, id) : null
  }

  /**
   * Every schema that applies to the same value: the schemas themselves, what their `$ref`
   * points to, and the branches of `allOf`, `anyOf`, `oneOf` and `if`/`then`/`else`. Every
   * branch is followed, because which one matched is only known once the data is validated.
   */
  expand (entries: readonly Fragment[]): Fragment[] {
    const out: Fragment[] = []
    const seen = new Set<object>()
    const queue = [...entries]
    for (let i = 0; i < queue.length; i++) {
      const { schema, document } = queue[i] as Fragment
      if (seen.has(schema)) continue
      seen.add(schema)
      const own = typeof schema.$id === 'string' && !schema.$id.startsWith('#') ? this.documentOf(schema, document.base) : document
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
}
