import { FST_PUSH_RELATIONS_INVALID_OPTION } from './errors.js'

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
}

export const defaults = {
  rel: 'preload',
  as: 'fetch',
  crossorigin: false,
  nopush: false,
  maxLinks: 32,
  maxLinkBytes: 2048,
  iriKey: '@id'
} as const

/**
 * Link parameters are written unquoted: h2o 2.2 ignores `rel="preload"` and Apache ignores
 * upper case, so only lower-case RFC 7230 tokens are accepted.
 */
export const LOWERCASE_TOKEN = /^[a-z][a-z0-9.-]*$/

/** Options Fastify itself passes to every plugin (`register(plugin, { prefix })`). */
const FASTIFY_REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers'])
const KNOWN_OPTIONS = new Set<string>([...Object.keys(defaults), 'origins'])

function fail (name: string, problem: string, value: unknown): never {
  throw new FST_PUSH_RELATIONS_INVALID_OPTION(name, `${problem}, received ${describe(value)}`)
}

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  return typeof value === 'object' ? 'an object' : String(value)
}

function token (name: string, value: unknown): string {
  if (typeof value !== 'string' || !LOWERCASE_TOKEN.test(value)) {
    fail(name, 'must be a lower-case token such as "preload"', value)
  }
  return value
}

function integer (name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(name, `must be an integer >= ${min}`, value)
  }
  return value
}

function boolean (name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(name, 'must be a boolean', value)
  return value
}

function crossorigin (value: unknown): CrossOrigin | false {
  if (value !== false && value !== 'anonymous' && value !== 'use-credentials') {
    fail('crossorigin', 'must be "anonymous", "use-credentials" or false', value)
  }
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

/** Validates the user's options once, at registration; a mistake rejects `register`. */
export function resolveOptions (options: PushRelationsOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') fail('options', 'must be an object', options)
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(name) && !FASTIFY_REGISTER_OPTIONS.has(name)) fail(name, 'is not a known option', name)
  }
  return {
    rel: options.rel === undefined ? defaults.rel : token('rel', options.rel),
    as: options.as === undefined ? defaults.as : token('as', options.as),
    crossorigin: options.crossorigin === undefined ? defaults.crossorigin : crossorigin(options.crossorigin),
    nopush: options.nopush === undefined ? defaults.nopush : boolean('nopush', options.nopush),
    maxLinks: options.maxLinks === undefined ? defaults.maxLinks : integer('maxLinks', options.maxLinks, 1),
    maxLinkBytes: options.maxLinkBytes === undefined ? defaults.maxLinkBytes : integer('maxLinkBytes', options.maxLinkBytes, 1),
    iriKey: options.iriKey === undefined ? defaults.iriKey : iriKey(options.iriKey),
    origins: options.origins === undefined ? new Set() : origins(options.origins)
  }
}
