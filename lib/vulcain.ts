import type { FastifyReply, FastifyRequest } from 'fastify'
import type { LinkRule } from './annotation.js'
import type { LinkSet } from './link-set.js'
import { mediaTypeOf, type ResponseKeys } from './response-plans.js'
import type { PlanNode } from './schema-compiler.js'
import { FieldTree, selectFields } from './vulcain-fields.js'
import { selectRelations, type SelectedRelation } from './vulcain-relations.js'
import { encodeQueryValue, parseSelectors, serializeSelectors, type Selector, type SelectorLimits } from './vulcain-selectors.js'

/**
 * The Vulcain protocol (draft-dunglas-vulcain-01), inside Fastify: the client says which
 * relations it wants preloaded (`Preload`) and which fields it wants (`Fields`), in request
 * headers or in the `preload` and `fields` query parameters. The schema is already compiled,
 * so unlike a gateway the plugin reads the payload object, not the serialized body, unless
 * the body itself has to change (Fields, or links rewritten for the query form).
 */

export interface VulcainOptions {
  /** Most selectors per directive. Default 32. */
  maxSelectors?: number
  /** Most tokens per selector. Default 16. */
  maxSelectorDepth?: number
  /** Most bytes per directive (header or query parameter). Default 4096. */
  maxDirectiveBytes?: number
  /** Read the `preload` and `fields` query parameters too. Default true. */
  query?: boolean
}

export interface ResolvedVulcainOptions extends SelectorLimits {
  readonly query: boolean
}

/** What a response becomes under a request's directives. */
export interface VulcainView {
  readonly document: unknown
  /** True when `document` is a new document, to be sent instead of the payload. */
  readonly changed: boolean
  readonly fields: FieldTree | null
  /** Query form: links in the document carry what remains of the selectors. */
  readonly rewrite: boolean
  readonly directives: Directives
}

/** The directives of one request. */
export interface Directives {
  readonly preload: readonly Selector[]
  /** Null when the request has no `Fields`: every field is returned. */
  readonly fields: readonly Selector[] | null
  /** True when a directive came from the query: links in the body then carry what remains. */
  readonly queryForm: boolean
}

const JSON_MEDIA_TYPE = /\bjson\b/
const NO_TRANSFORM = /\bno-transform\b/i
const PREFER_SELECTOR = /(?:^|[;,]\s*)selector\s*=\s*"?([^";,\s]*)/i

function identity (payload: string): string {
  return payload
}

export class Vulcain {
  constructor (
    private readonly options: ResolvedVulcainOptions,
    private readonly iriKey: string,
    private readonly defaultRule: LinkRule
  ) {}

  /**
   * The directives of a request whose response is a JSON document, or null: none were sent,
   * they were all invalid, or the client prefers another selector format (`Prefer: selector=css`).
   * A directive in a header wins over the same one in the query.
   */
  directivesOf (request: FastifyRequest, reply: FastifyReply): Directives | null {
    const headers = request.headers
    const query = this.options.query ? request.query as Record<string, unknown> | undefined : undefined
    const preloadHeader = headers.preload
    const fieldsHeader = headers.fields
    const preloadQuery = query?.preload
    const fieldsQuery = query?.fields
    if (preloadHeader === undefined && fieldsHeader === undefined && preloadQuery === undefined && fieldsQuery === undefined) return null
    if (!JSON_MEDIA_TYPE.test(mediaTypeOf(reply.getHeader('content-type')))) return null
    const prefer = PREFER_SELECTOR.exec(String(headers.prefer ?? ''))
    if (prefer !== null && prefer[1]?.toLowerCase() !== 'json-pointer') return null

    const preload = this.directive(request, 'preload', preloadHeader, preloadQuery)
    const fields = this.directive(request, 'fields', fieldsHeader, fieldsQuery)
    if (preload === null && fields === null) return null
    return {
      preload: preload?.selectors ?? [],
      fields: fields?.selectors ?? null,
      queryForm: preload?.fromQuery === true || fields?.fromQuery === true
    }
  }

  private directive (request: FastifyRequest, name: string, header: unknown, query: unknown): { selectors: Selector[], fromQuery: boolean } | null {
    const fromQuery = header === undefined
    const raw = fromQuery ? query : header
    if (raw === undefined) return null
    // Repeated fields (and repeated query parameters) are one list (RFC 8941 section 4.2).
    const value = Array.isArray(raw) ? raw.join(', ') : String(raw)
    const selectors = parseSelectors(value, this.options)
    if (typeof selectors === 'string') {
      request.log.debug({ directive: name, problem: selectors }, 'fastify-push-relations: Vulcain directive ignored')
      return null
    }
    return { selectors, fromQuery }
  }

  /**
   * The document the response will hold under these directives: the payload itself, or, when
   * the body has to change (Fields, links rewritten for the query form), a parsed copy of
   * what the serializer writes (the schema's fields only, never the raw object), filtered.
   */
  view (reply: FastifyReply, payload: object, keys: ResponseKeys, directives: Directives): VulcainView {
    const transformable = !NO_TRANSFORM.test(String(reply.getHeader('cache-control') ?? ''))
    const fields = directives.fields !== null && transformable ? FieldTree.of(directives.fields) : null
    const rewrite = directives.queryForm && transformable
    if (fields === null && !rewrite) return { document: payload, changed: false, fields, rewrite, directives }
    const serialized: unknown = JSON.parse(serialize(reply, payload, keys))
    return { document: fields === null ? serialized : selectFields(serialized, fields), changed: true, fields, rewrite, directives }
  }

  /** Adds the relations the `Preload` selectors reach (rewriting them in the document for the query form). */
  select (view: VulcainView, plan: PlanNode | null, links: LinkSet): void {
    selectRelations(view.document, plan, {
      preload: view.directives.preload,
      fields: view.fields,
      iriKey: this.iriKey,
      onRelation: (relation) => { this.relate(relation, view.rewrite, links) }
    })
  }

  /** The payload to send for a view: the document as serialized here, when it changed. */
  payloadOf (view: VulcainView, reply: FastifyReply, payload: unknown): unknown {
    if (!view.changed) return payload
    reply.serializer(identity)
    return JSON.stringify(view.document)
  }

  private relate (relation: SelectedRelation, rewrite: boolean, links: LinkSet): void {
    const rule = relation.rule ?? this.defaultRule
    if (rewrite) {
      // Query form: the link itself carries what remains, for the client and for proxies.
      const parameters: string[] = []
      if (relation.preloadRest.length > 0) parameters.push('preload=' + encodeQueryValue(serializeSelectors(relation.preloadRest)))
      if (relation.fieldsRest !== null && relation.fieldsRest.length > 0) parameters.push('fields=' + encodeQueryValue(serializeSelectors(relation.fieldsRest)))
      const url = parameters.length === 0 ? relation.reference : relation.reference + (relation.reference.includes('?') ? '&' : '?') + parameters.join('&')
      relation.replace?.(url)
      if (relation.preload) links.add(url, rule, true)
      return
    }
    if (!relation.preload) return
    const path = links.add(relation.reference, rule, true)
    if (path !== null) links.remaindersOf(path).add(relation.preloadRest, relation.fieldsRest)
  }
}

/** Serializes the payload exactly as Fastify would for this response (schema, media type, custom serializer). */
function serialize (reply: FastifyReply, payload: object, keys: ResponseKeys): string {
  const entry = keys[reply.statusCode - 200]
  if (entry?.contentMap === true) {
    // reply.serialize() does not pass the media type along, which content maps need.
    const mediaType = mediaTypeOf(reply.getHeader('content-type'))
    const serializer = reply.getSerializationFunction(entry.key, mediaType) ?? reply.getSerializationFunction(entry.key, '*/*')
    if (serializer !== undefined) return serializer(payload as Record<string, unknown>)
    return JSON.stringify(payload)
  }
  return String(reply.serialize(payload))
}
