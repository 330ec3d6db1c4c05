import { fail, HEADER_NAME, MAX_TIMER_DELAY, rejectUnknown } from '../option-checks.js'

/*
 * The `cacheTags` option: which tag header reads get, and how writes purge the cache nodes.
 * Validated once at registration, like every other option.
 */

/** The tag header formats of the caches people put in front of an API. */
export const TAG_HEADERS = {
  /** Varnish with BAN (API Platform's format): comma-separated. */
  'Cache-Tags': ',',
  /** Varnish with the xkey vmod: space-separated. */
  xkey: ' ',
  /** Fastly: space-separated. */
  'Surrogate-Key': ' ',
  /** Cloudflare: comma-separated. */
  'Cache-Tag': ','
} as const

export type TagHeader = keyof typeof TAG_HEADERS

/** What could not be purged from one node, as `onPurgeError` receives it. */
export interface PurgeFailure {
  /** The node's purge URL. */
  readonly url: string
  /** The tags that node may still serve stale responses for. */
  readonly tags: readonly string[]
  /** Requests sent for them (0: refused before sending, e.g. a full queue). */
  readonly attempts: number
  readonly error: Error
}

/** The request a generic HTTP purger sends for a chunk of tags. */
export interface HttpPurgeOptions {
  /** Default `'PURGE'`. */
  method?: string
  /** Fixed request headers: credentials, content type. */
  headers?: Record<string, string>
  /** Header that carries the tags. Default `'Surrogate-Key'`; ignored when `body` is set. */
  tagHeader?: string
  /** Between tags in `tagHeader`. Default `' '`. */
  separator?: ' ' | ',' | ', '
  /** Builds the request body from the tags (e.g. Cloudflare's `{"tags":[...]}`). */
  body?: (tags: string[]) => string
  /** Most tags per request (Cloudflare takes 30). Default: only the byte cap applies. */
  maxTags?: number
}

export interface PurgeOptions {
  /** `'ban'` (Varnish BAN with a regex header, default), `'xkey'` (Varnish PURGE with xkey) or `'http'`. */
  kind?: 'ban' | 'xkey' | 'http'
  /** Every cache node (or purge API) to purge: each gets every purge, in parallel. */
  urls?: string[]
  /** `'after-response'` (default): writes never wait. `'before-response'`: the write's response waits for the purges. */
  mode?: 'after-response' | 'before-response'
  /** Milliseconds during which purges for the same node are merged into one batch. Default 10. */
  window?: number
  /** Milliseconds a purge request may stay idle before it counts as failed. Default 2000. */
  timeout?: number
  /** Attempts after the first one, with doubling delays. Default 5. */
  retries?: number
  /** Delay before the first retry, doubled at each one. Default 200. */
  retryDelay?: number
  /** Most tags waiting or in flight per node; past it, tags are reported as not purged. Default 10000. */
  maxQueue?: number
  /** Most bytes of the header that carries tags in one purge request. Default 7500. */
  maxHeaderBytes?: number
  /** Most milliseconds `fastify.close()` waits for purges in flight. Default 5000. */
  closeTimeout?: number
  /** Header holding the regex of a Varnish BAN. Default `'Cache-Tags-Ban-Regex'`. */
  banHeader?: string
  /** The generic purger's request (kind `'http'`). */
  http?: HttpPurgeOptions
  /** Called with what could not be purged, after the retries. */
  onPurgeError?: (failure: PurgeFailure) => void
}

export interface CacheTagsOptions {
  /** Tag header of GET/HEAD responses. Default `'Cache-Tags'` (`'xkey'` with the xkey purger). */
  header?: TagHeader
  /** Most bytes of the tag header. Default 1024: with a full `Link` header, under nginx's 4 KB. */
  maxBytes?: number
  /**
   * When the tags do not fit: `'collections'` (default) tags the collection of each resource
   * instead (writes purge collections too), and marks the response private if even those do
   * not fit; `'private'` marks it private at once.
   */
  fallback?: 'collections' | 'private'
  /** Where and how writes purge. Without it, responses are tagged and nothing is purged. */
  purge?: PurgeOptions
}

export interface ResolvedPurge {
  readonly kind: 'ban' | 'xkey' | 'http'
  readonly urls: readonly URL[]
  readonly mode: 'after-response' | 'before-response'
  readonly window: number
  readonly timeout: number
  readonly retries: number
  readonly retryDelay: number
  readonly maxQueue: number
  readonly maxHeaderBytes: number
  readonly closeTimeout: number
  readonly banHeader: string
  readonly http: Required<Omit<HttpPurgeOptions, 'body' | 'maxTags'>> & Pick<HttpPurgeOptions, 'body'> & { maxTags: number }
  readonly onPurgeError: ((failure: PurgeFailure) => void) | null
}

export interface ResolvedCacheTags {
  /** Lower-case header name. */
  readonly header: string
  readonly separator: ',' | ' '
  readonly maxBytes: number
  readonly fallback: 'collections' | 'private'
  readonly purge: ResolvedPurge
}

const TOP = ['header', 'maxBytes', 'fallback', 'purge']
const PURGE = ['kind', 'urls', 'mode', 'window', 'timeout', 'retries', 'retryDelay', 'maxQueue', 'maxHeaderBytes', 'closeTimeout', 'banHeader', 'http', 'onPurgeError']
const HTTP = ['method', 'headers', 'tagHeader', 'separator', 'body', 'maxTags']
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

function objectOf (name: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(name, 'must be an object', value)
  rejectUnknown(name, value, known)
  return value as Record<string, unknown>
}

function integer (name: string, value: unknown, fallback: number, min: number, max = MAX_TIMER_DELAY): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) fail(name, `must be an integer from ${min} to ${max}`, value)
  return value
}

function oneOf<T extends string> (name: string, value: unknown, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback
  if (!choices.includes(value as T)) fail(name, `must be one of ${choices.map((choice) => JSON.stringify(choice)).join(', ')}`, value)
  return value as T
}

function headerName (name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !HEADER_NAME.test(value)) fail(name, 'must be a header name', value)
  return value
}

function urls (value: unknown): URL[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) fail('cacheTags.purge.urls', 'must be an array of http(s) URLs', value)
  return value.map((item: unknown) => {
    const url = typeof item === 'string' && URL.canParse(item) ? new URL(item) : null
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) fail('cacheTags.purge.urls', 'must only hold http(s) URLs such as "http://varnish-1:6081/"', item)
    return url
  })
}

function headers (value: unknown): Record<string, string> {
  if (value === undefined) return {}
  const object = objectOf('cacheTags.purge.http.headers', value, Object.keys(value as object))
  for (const [name, item] of Object.entries(object)) {
    // A CR or LF would let a header value start another header.
    if (!HEADER_NAME.test(name) || typeof item !== 'string' || /[\r\n\0]/.test(item)) fail(`cacheTags.purge.http.headers.${name}`, 'must be a string header value under a header name', item)
  }
  return object as Record<string, string>
}

function functionOption<T> (name: string, value: unknown): T | null {
  if (value === undefined) return null
  if (typeof value !== 'function') fail(name, 'must be a function', value)
  return value as T
}

function resolveHttp (value: unknown): ResolvedPurge['http'] {
  const http = value === undefined ? {} : objectOf('cacheTags.purge.http', value, HTTP)
  const method = http['method'] ?? 'PURGE'
  if (typeof method !== 'string' || !METHOD.test(method)) fail('cacheTags.purge.http.method', 'must be an HTTP method', method)
  const body = functionOption<(tags: string[]) => string>('cacheTags.purge.http.body', http['body'])
  return {
    method,
    headers: headers(http['headers']),
    tagHeader: headerName('cacheTags.purge.http.tagHeader', http['tagHeader'], 'Surrogate-Key'),
    separator: oneOf('cacheTags.purge.http.separator', http['separator'], [' ', ',', ', '], ' '),
    ...(body === null ? {} : { body }),
    maxTags: integer('cacheTags.purge.http.maxTags', http['maxTags'], Number.MAX_SAFE_INTEGER, 1, Number.MAX_SAFE_INTEGER)
  }
}

function resolvePurge (value: unknown): ResolvedPurge {
  const purge = value === undefined ? {} : objectOf('cacheTags.purge', value, PURGE)
  return {
    kind: oneOf('cacheTags.purge.kind', purge['kind'], ['ban', 'xkey', 'http'], 'ban'),
    urls: urls(purge['urls']),
    mode: oneOf('cacheTags.purge.mode', purge['mode'], ['after-response', 'before-response'], 'after-response'),
    window: integer('cacheTags.purge.window', purge['window'], 10, 0),
    timeout: integer('cacheTags.purge.timeout', purge['timeout'], 2000, 1),
    retries: integer('cacheTags.purge.retries', purge['retries'], 5, 0, 30),
    retryDelay: integer('cacheTags.purge.retryDelay', purge['retryDelay'], 200, 1),
    maxQueue: integer('cacheTags.purge.maxQueue', purge['maxQueue'], 10_000, 1, Number.MAX_SAFE_INTEGER),
    maxHeaderBytes: integer('cacheTags.purge.maxHeaderBytes', purge['maxHeaderBytes'], 7500, 64, Number.MAX_SAFE_INTEGER),
    closeTimeout: integer('cacheTags.purge.closeTimeout', purge['closeTimeout'], 5000, 0),
    banHeader: headerName('cacheTags.purge.banHeader', purge['banHeader'], 'Cache-Tags-Ban-Regex'),
    http: resolveHttp(purge['http']),
    onPurgeError: functionOption('cacheTags.purge.onPurgeError', purge['onPurgeError'])
  }
}

/** Validates `cacheTags` (`true` or an object); null when it is off. */
export function resolveCacheTags (value: unknown): ResolvedCacheTags | null {
  if (value === undefined || value === false) return null
  if (value !== true && (value === null || typeof value !== 'object' || Array.isArray(value))) fail('cacheTags', 'must be a boolean or an object', value)
  const options = value === true ? {} : objectOf('cacheTags', value, TOP)
  const purge = resolvePurge(options['purge'])
  const header = oneOf('cacheTags.header', options['header'], Object.keys(TAG_HEADERS) as TagHeader[], purge.kind === 'xkey' ? 'xkey' : 'Cache-Tags')
  const separator = TAG_HEADERS[header]
  if (purge.kind === 'ban' && purge.urls.length > 0 && separator !== ',') {
    fail('cacheTags.header', 'must be comma-separated ("Cache-Tags" or "Cache-Tag") with the Varnish BAN purger, whose regex matches between commas', header)
  }
  return {
    header: header.toLowerCase(),
    separator,
    maxBytes: integer('cacheTags.maxBytes', options['maxBytes'], 1024, 64, Number.MAX_SAFE_INTEGER),
    fallback: oneOf('cacheTags.fallback', options['fallback'], ['collections', 'private'], 'collections'),
    purge
  }
}
