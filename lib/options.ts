import { resolveCacheTags, type CacheTagsOptions, type ResolvedCacheTags } from './cache-tags/options.js'
import { FST_PUSH_RELATIONS_INVALID_OPTION } from './errors.js'
import { boolean, fail, HEADER_NAME, integer, MAX_TIMER_DELAY } from './option-checks.js'
import { resolveVulcain, type ResolvedVulcainOptions, type VulcainOptions } from './vulcain/options.js'

export type CrossOrigin = 'anonymous' | 'use-credentials'

/** Options of `fastify.register(pushRelations, options)`. Every one is optional. */
export interface PushRelationsOptions {
  /** Link relation of each entry. Default `'preload'`. */
  rel?: string
  /** Destination of each entry (`as=`). Default `'fetch'`, what JSON resources need. */
  as?: string
  /** Adds `crossorigin` (anonymous) or `crossorigin=use-credentials` to each entry. Off by default. */
  crossorigin?: CrossOrigin | false
  /** Adds `nopush`: proxies preload but do not push. Default `false`. */
  nopush?: boolean
  /** Most entries the plugin adds to one response; duplicates do not count. Default 32. */
  maxLinks?: number
  /** Most bytes the plugin adds to the `Link` header, separators included. Default 2048. */
  maxLinkBytes?: number
  /** Property holding the IRI of an embedded object. Default `'@id'`. */
  iriKey?: string
  /** Absolute `http(s)` origins, besides the request's own, whose URLs count as this API's. */
  origins?: string[]
  /** Push the preload links natively when Fastify speaks HTTP/2 and the client allows it. Default `false`. */
  push?: boolean
  /** Hops pushed: 1 pushes the response's relations, 2 also theirs, and so on. Default 1. */
  pushDepth?: number
  /** Most pushes per request, all hops together. Default 10 (nginx's own default). */
  maxPushes?: number
  /** Milliseconds a pushed request may take before its stream is cancelled. Default 5000. */
  pushTimeout?: number
  /** Request headers copied onto pushed requests, so a push serves what the client would get by asking. */
  pushHeaders?: string[]
  /** `reply.preload()` sends a 103 Early Hints response at once. Default `false`. */
  earlyHints?: boolean
  /**
   * The Vulcain protocol: clients choose what is preloaded (`Preload`) and which fields they
   * get (`Fields`). `true` or limits. Off by default; a route opts out with
   * `config: { pushRelations: { vulcain: false } }`.
   */
  vulcain?: boolean | VulcainOptions
  /**
   * Cache tags on GET/HEAD responses, and purges of the cache nodes after writes (see
   * docs/caching.md). `true` (a `Cache-Tags` header, nothing purged) or an object. Off by default.
   */
  cacheTags?: boolean | CacheTagsOptions
}

/** The options after validation, with defaults applied and values precomputed for the hot path. */
export interface ResolvedOptions {
  readonly rel: string
  readonly as: string
  readonly crossorigin: CrossOrigin | false
  readonly nopush: boolean
  readonly maxLinks: number
  readonly maxLinkBytes: number
  readonly iriKey: string
  /** Normalized origins (`new URL(o).origin`), for exact comparison. */
  readonly origins: ReadonlySet<string>
  readonly push: boolean
  readonly pushDepth: number
  readonly maxPushes: number
  readonly pushTimeout: number
  /** Lower-case header names. */
  readonly pushHeaders: readonly string[]
  readonly earlyHints: boolean
  /** Null when the protocol is off. */
  readonly vulcain: ResolvedVulcainOptions | null
  /** Null when cache tags are off. */
  readonly cacheTags: ResolvedCacheTags | null
  /**
   * Relations looked at per response at most, valid or not: a payload with thousands of invalid
   * values (or of duplicates) stops costing anything past this.
   */
  readonly maxCandidates: number
}

export const defaults = {
  rel: 'preload',
  as: 'fetch',
  crossorigin: false,
  nopush: false,
  maxLinks: 32,
  maxLinkBytes: 2048,
  iriKey: '@id',
  push: false,
  pushDepth: 1,
  maxPushes: 10,
  pushTimeout: 5000,
  pushHeaders: ['accept', 'accept-encoding', 'accept-language', 'authorization', 'cookie', 'user-agent'],
  earlyHints: false,
  vulcain: false
} as const

/**
 * Link parameters are written unquoted: h2o 2.2 ignores `rel="preload"` and Apache ignores
 * upper case, so only lower-case RFC 7230 tokens are accepted.
 */
export const LOWERCASE_TOKEN = /^[a-z][a-z0-9.-]*$/

/** Options Fastify itself passes to every plugin (`register(plugin, { prefix })`). */
const FASTIFY_REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers'])
const KNOWN_OPTIONS = new Set<string>([...Object.keys(defaults), 'origins', 'cacheTags'])

function token (name: string, value: unknown): string {
  if (typeof value !== 'string' || !LOWERCASE_TOKEN.test(value)) {
    fail(name, `must be a lower-case token such as "${name === 'as' ? 'fetch' : 'preload'}"`, value)
  }
  return value
}

/** The values `crossorigin` takes, as an option and in an annotation. */
export function isCrossOrigin (value: unknown): value is CrossOrigin | false {
  return value === false || value === 'anonymous' || value === 'use-credentials'
}

function crossorigin (value: unknown): CrossOrigin | false {
  if (!isCrossOrigin(value)) fail('crossorigin', 'must be "anonymous", "use-credentials" or false', value)
  return value
}

function iriKey (value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) fail('iriKey', 'must be a non-empty string', value)
  return value
}

function origins (value: unknown): Set<string> {
  if (!Array.isArray(value)) fail('origins', 'must be an array of absolute http(s) origins', value)
  const normalized = new Set<string>()
  for (const item of value) {
    const url = typeof item === 'string' && URL.canParse(item) ? new URL(item) : null
    const isOrigin = url !== null && (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.username === '' && url.password === '' && url.pathname === '/' && url.search === '' && url.hash === ''
    if (!isOrigin) fail('origins', 'must only hold origins such as "https://api.example.com" (no path, query or credentials)', item)
    normalized.add(url.origin)
  }
  return normalized
}

/** Header field names (RFC 9110 tokens), except the ones a request cannot carry over HTTP/2. */
const NOT_FORWARDABLE = new Set(['connection', 'host', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'content-length'])

function pushHeaders (value: unknown): string[] {
  if (!Array.isArray(value)) fail('pushHeaders', 'must be an array of header names', value)
  return value.map((name: unknown) => {
    if (typeof name !== 'string' || !HEADER_NAME.test(name) || NOT_FORWARDABLE.has(name.toLowerCase())) {
      fail('pushHeaders', `must only hold request header names a pushed request can carry (not ${[...NOT_FORWARDABLE].join(', ')})`, name)
    }
    return name.toLowerCase()
  })
}

/** Validates the user's options once, at registration; a mistake rejects `register`. */
export function resolveOptions (options: PushRelationsOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) fail('options', 'must be an object', options)
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(name) && !FASTIFY_REGISTER_OPTIONS.has(name)) {
      throw new FST_PUSH_RELATIONS_INVALID_OPTION(name, `is not a known option (known: ${[...KNOWN_OPTIONS].join(', ')})`)
    }
  }
  const maxLinks = options.maxLinks === undefined ? defaults.maxLinks : integer('maxLinks', options.maxLinks, 1)
  return {
    rel: options.rel === undefined ? defaults.rel : token('rel', options.rel),
    as: options.as === undefined ? defaults.as : token('as', options.as),
    crossorigin: options.crossorigin === undefined ? defaults.crossorigin : crossorigin(options.crossorigin),
    nopush: options.nopush === undefined ? defaults.nopush : boolean('nopush', options.nopush),
    maxLinks,
    maxLinkBytes: options.maxLinkBytes === undefined ? defaults.maxLinkBytes : integer('maxLinkBytes', options.maxLinkBytes, 1),
    iriKey: options.iriKey === undefined ? defaults.iriKey : iriKey(options.iriKey),
    origins: options.origins === undefined ? new Set() : origins(options.origins),
    push: options.push === undefined ? defaults.push : boolean('push', options.push),
    pushDepth: options.pushDepth === undefined ? defaults.pushDepth : integer('pushDepth', options.pushDepth, 1),
    maxPushes: options.maxPushes === undefined ? defaults.maxPushes : integer('maxPushes', options.maxPushes, 1),
    pushTimeout: options.pushTimeout === undefined ? defaults.pushTimeout : integer('pushTimeout', options.pushTimeout, 1, MAX_TIMER_DELAY),
    pushHeaders: options.pushHeaders === undefined ? defaults.pushHeaders : pushHeaders(options.pushHeaders),
    earlyHints: options.earlyHints === undefined ? defaults.earlyHints : boolean('earlyHints', options.earlyHints),
    vulcain: options.vulcain === undefined ? null : resolveVulcain(options.vulcain),
    cacheTags: resolveCacheTags(options.cacheTags),
    maxCandidates: Math.max(1024, maxLinks * 32)
  }
}
