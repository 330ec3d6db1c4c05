import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ResponseLinks } from '../deliver/response-links.js'
import { mediaTypeOf, type ResponseKeys } from '../plan/response-plans.js'
import { FieldTree, withoutRequired } from './fields.js'
import { CursorSet, walkDocument, type SelectedRelation } from './relations.js'
import { encodeQueryValue, parseSelectors, Remainders, serializeSelectors, type Selector, type SelectorProblem } from './selectors.js'
import type { LinkRule, PlanNode } from '../plan/plan-node.js'
import type { ResolvedVulcainOptions } from './options.js'

/**
 * The Vulcain protocol (draft-dunglas-vulcain-01), inside Fastify: the client says which
 * relations it wants preloaded (`Preload`) and which fields it wants (`Fields`), in request
 * headers or in the `preload` and `fields` query parameters. The schema is already compiled
 * and the payload is still an object: the plugin walks that object along the selectors, builds
 * the filtered document where the body changes, and the route's serializer writes it. The body
 * is never parsed.
 */

/** The directives of one request. */
export interface Directives {
  /** The `Preload` cursors at the root of the document (empty when none). */
  readonly preload: CursorSet
  /** Null when the request has no `Fields`: every field is returned. */
  readonly fields: FieldTree | null
  /** True when a directive came from the query: links in the body then carry what remains. */
  readonly queryForm: boolean
}

/** A route's own state for Vulcain: how a filtered document is serialized. */
export interface VulcainRoute {
  readonly keys: ResponseKeys
  /** The route's 2xx response schemas by key (and by media type for content maps). */
  readonly schemas: ReadonlyMap<string, unknown>
  readonly getSchema: (id: string) => unknown
  /** Derived schemas (`required` dropped), made at first use. */
  readonly derived: Map<string, object>
  /** The plans `relations: 'schema'` follows; null with `relations: 'any'`. */
  relationPlans: ((status: number, reply: FastifyReply) => PlanNode | null) | null
}

const JSON_MEDIA_TYPE = /\bjson\b/
const NO_TRANSFORM = /\bno-transform\b/i
const PREFER_SELECTOR = /(?:^|[;,]\s*)selector\s*=\s*"?([^";,\s]*)/i

/** Most distinct directive values whose parse is remembered (clients repeat theirs). */
const PARSE_CACHE_SIZE = 256

/** What `cache` holds for `key`, made by `make` on a miss; a full cache starts again empty. */
function cached<K, V> (cache: Map<K, V>, key: K, make: (key: K) => V): V {
  let value = cache.get(key)
  if (value === undefined) {
    if (cache.size === PARSE_CACHE_SIZE) cache.clear()
    value = make(key)
    cache.set(key, value)
  }
  return value
}

/** Most bytes the query form appends to the links of one document. */
export const MAX_REWRITE_BYTES = 64 * 1024

type Parsed = Selector[] | SelectorProblem

/** A directive read from the query, before parsing: null when the parameter is absent. */
interface QueryDirectives {
  preload: string[] | null
  fields: string[] | null
}

/**
 * The `preload` and `fields` parameters of the request URL as sent: Fastify's `request.query`
 * misses them when the querystring schema strips unknown properties. `+` is a space, as in
 * Fastify's own parser; a value that does not decode is `undefined` (invalid, ignored).
 */
export function queryDirectives (url: string): QueryDirectives | null {
  const start = url.indexOf('?')
  if (start === -1) return null
  const hash = url.indexOf('#', start)
  const query = hash === -1 ? url.slice(start + 1) : url.slice(start + 1, hash)
  if (!query.includes('preload=') && !query.includes('fields=')) return null
  const found: QueryDirectives = { preload: null, fields: null }
  for (const part of query.split('&')) {
    const name = part.startsWith('preload=') ? 'preload' : part.startsWith('fields=') ? 'fields' : null
    if (name === null) continue
    let value: string
    try {
      value = decodeURIComponent(part.slice(name.length + 1).replace(/\+/g, ' '))
    } catch {
      value = '\u0000' // not a list: the directive is invalid
    }
    (found[name] ??= []).push(value)
  }
  return found
}

/**
 * The document a path names (paths have no fragment), for comparison with the requested one:
 * without the Vulcain parameters. The requested document is never preloaded back.
 */
function documentKey (clean: string): string {
  const start = clean.indexOf('?')
  if (start === -1) return clean
  const kept = clean.slice(start + 1).split('&').filter((part) => part !== '' && !part.startsWith('preload=') && !part.startsWith('fields='))
  return kept.length === 0 ? clean.slice(0, start) : clean.slice(0, start) + '?' + kept.join('&')
}

/** Appends query parameters to a reference, before its fragment. */
function withParameters (reference: string, parameters: string): string {
  const hash = reference.indexOf('#')
  const base = hash === -1 ? reference : reference.slice(0, hash)
  const url = base + (base.includes('?') ? '&' : '?') + parameters
  return hash === -1 ? url : url + reference.slice(hash)
}

export class Vulcain {
  private readonly parsed = new Map<string, Parsed>()
  private readonly cursorSets = new Map<readonly Selector[], CursorSet>()
  private readonly fieldTrees = new Map<readonly Selector[], FieldTree>()

  constructor (
    readonly options: ResolvedVulcainOptions,
    private readonly iriKey: string,
    private readonly defaultRule: LinkRule,
    private readonly maxCandidates: number
  ) {}

  /**
   * The directives of a request whose response is a JSON document, or null: none were sent,
   * they were all invalid or empty, or the client prefers another selector format
   * (`Prefer: selector=css`). Each directive on its own: a valid header wins over the query
   * parameter, an invalid one leaves the parameter in force.
   */
  directivesOf (request: FastifyRequest, reply: FastifyReply): Directives | null {
    const headers = request.headers
    const preloadHeader = headers.preload
    const fieldsHeader = headers.fields
    const query = this.options.query ? queryDirectives(request.url) : null
    if (preloadHeader === undefined && fieldsHeader === undefined && query === null) return null
    if (!JSON_MEDIA_TYPE.test(mediaTypeOf(reply.getHeader('content-type')))) return null
    const prefer = headers.prefer === undefined ? null : PREFER_SELECTOR.exec(String(headers.prefer))
    if (prefer != null && prefer[1]?.toLowerCase() !== 'json-pointer') return null

    const preload = this.directive(request, 'preload', preloadHeader, query?.preload ?? null)
    const fields = this.directive(request, 'fields', fieldsHeader, query?.fields ?? null)
    if (preload === null && fields === null) return null
    return {
      preload: preload === null ? CursorSet.of([]) : this.cursorSetOf(preload.selectors),
      fields: fields === null ? null : this.fieldTreeOf(fields.selectors),
      queryForm: preload?.fromQuery === true || fields?.fromQuery === true
    }
  }

  /** The selectors of one directive, or null: absent, empty (an empty list is no list), or invalid. */
  private directive (request: FastifyRequest, name: string, header: unknown, query: string[] | null): { selectors: Selector[], fromQuery: boolean } | null {
    if (header !== undefined) {
      // Node joins repeated fields with ", ": one list, as RFC 8941 section 4.2 says.
      const selectors = this.parse(request, name, String(header))
      if (selectors !== null) return { selectors, fromQuery: false }
    }
    if (query === null) return null
    const selectors = this.parse(request, name, query.join(', '))
    return selectors === null ? null : { selectors, fromQuery: true }
  }

  private parse (request: FastifyRequest, name: string, value: string): Selector[] | null {
    let selectors = this.parsed.get(value)
    if (selectors === undefined) {
      selectors = parseSelectors(value, this.options)
      if (this.parsed.size === PARSE_CACHE_SIZE) this.parsed.clear()
      // Only short values are remembered: the cache stays small whatever clients send.
      if (value.length <= 512) this.parsed.set(value, selectors)
    }
    if (typeof selectors === 'string') {
      request.log.debug({ directive: name, problem: selectors }, 'fastify-push-relations: Vulcain directive ignored')
      return null
    }
    return selectors.length === 0 ? null : selectors
  }

  private cursorSetOf (selectors: readonly Selector[]): CursorSet {
    return cached(this.cursorSets, selectors, CursorSet.of)
  }

  private fieldTreeOf (selectors: readonly Selector[]): FieldTree {
    return cached(this.fieldTrees, selectors, FieldTree.of)
  }

  /**
   * Applies the directives to the payload object: reports the selected relations to `links`
   * and returns the document to send (the payload itself when nothing changes). When `Fields`
   * filtered it and the route has a response schema, the reply is given the serializer of
   * that schema without `required`.
   */
  apply (request: FastifyRequest, reply: FastifyReply, payload: object, plan: PlanNode | null, links: ResponseLinks, route: VulcainRoute, directives: Directives): unknown {
    const transformable = !NO_TRANSFORM.test(String(reply.getHeader('cache-control') ?? ''))
    const fields = transformable ? directives.fields : null
    const rewrite = directives.queryForm && transformable
    const self = documentKey(request.url)
    const schemaMode = this.options.relations === 'schema'
    const walkPlan = schemaMode && route.relationPlans !== null ? route.relationPlans(reply.statusCode, reply) : plan
    let budget = this.maxCandidates
    let rewriteBytes = 0
    if (directives.preload.size > 0) links.push?.preferSelected()
    const document = walkDocument(payload, walkPlan, directives.preload, fields, {
      iriKey: this.iriKey,
      plainStrings: !schemaMode,
      exhausted: () => budget <= 0 || (links.set.full && (!rewrite || rewriteBytes >= MAX_REWRITE_BYTES)),
      onRelation: (relation) => {
        // Every relation a client's selectors reach costs one of `maxCandidates`, rewritten or not.
        if (budget-- <= 0) return null
        const rule = relation.rule ?? this.defaultRule
        const path = links.set.pathOf(relation.reference)
        // The requested document is never preloaded (or pushed) back, whatever parameters its link carries.
        if (path === null || documentKey(path) === self) return null
        if (rewrite && rewriteBytes < MAX_REWRITE_BYTES) {
          // Query form: the link itself carries what remains, for the client and for proxies.
          const suffix = this.suffixOf(relation)
          const url = suffix === '' ? relation.reference : withParameters(relation.reference, suffix)
          rewriteBytes += suffix.length
          if (relation.preload) links.add(url, rule, true)
          return relation.rewritable && url !== relation.reference ? url : null
        }
        const added = relation.preload ? links.add(relation.reference, rule, true) : path
        // What remains travels with the push of the linked resource (x-push links included).
        if (added !== null && (relation.preload || relation.fields !== null)) {
          remaindersOf(links, added).add(relation.preload ? relation.cursors.rest() : [], relation.fields === null ? null : relation.fields.remainders())
        }
        return null
      }
    })
    if (document !== payload && fields !== null) {
      const serializer = this.serializerOf(reply, route)
      if (serializer !== null) reply.serializer(serializer)
    }
    return document
  }

  /** The query parameters a rewritten link carries: made once per cursor set and Fields node. */
  private suffixOf (relation: SelectedRelation): string {
    const memo = relation.cursors.memo
    let suffix = memo.get(relation.fields)
    if (suffix === undefined) {
      const parameters: string[] = []
      const preloadRest = relation.preload ? relation.cursors.rest() : []
      if (preloadRest.length > 0) parameters.push('preload=' + encodeQueryValue(serializeSelectors(preloadRest)))
      const fieldsRest = relation.fields?.remainders() ?? []
      if (fieldsRest.length > 0) parameters.push('fields=' + encodeQueryValue(serializeSelectors(fieldsRest)))
      memo.set(relation.fields, suffix = parameters.join('&'))
    }
    return suffix
  }

  /** The serializer of the route's schema for this response, `required` dropped; null without schema. */
  private serializerOf (reply: FastifyReply, route: VulcainRoute): ((document: unknown) => string) | null {
    const entry = route.keys[reply.statusCode - 200]
    if (entry === undefined || entry === null) return null
    let name = entry.key
    let contentType: string | undefined
    if (entry.contentMap) {
      const mediaType = mediaTypeOf(reply.getHeader('content-type'))
      contentType = route.schemas.has(`${entry.key} ${mediaType}`) ? mediaType : '*/*'
      name = `${entry.key} ${contentType}`
    }
    let derived = route.derived.get(name)
    if (derived === undefined) {
      const schema = route.schemas.get(name)
      if (schema === undefined) return null
      route.derived.set(name, derived = withoutRequired(schema, route.getSchema) as object)
    }
    const serialize = reply.compileSerializationSchema(derived as Record<string, unknown>, entry.key, contentType) as (document: unknown) => string
    return serialize
  }
}

/** The Vulcain selectors that remain for the resource at `path`: what a push of it carries. */
function remaindersOf (links: ResponseLinks, path: string): Remainders {
  links.pushHeaders ??= new Map()
  let remainders = links.pushHeaders.get(path) as Remainders | undefined
  if (remainders === undefined) links.pushHeaders.set(path, remainders = new Remainders())
  return remainders
}
