import type { FastifyRequest } from 'fastify'
/**
 * Turns a relation value from a payload into a path that is safe to preload.
 *
 * Values come from API data, so they are untrusted: whatever they hold, the result is either
 * null (skip it) or a path-absolute URI reference of RFC 3986 characters only, which can stand
 * between `<` and `>` in a header without ending it or starting a new header line.
 */

/** What relative references resolve against: the request the payload answers. */
export interface ReferenceBase {
  /**
   * The request target in origin form: its path and query as received (`/books/1?page=2`). RFC
   * 3986 section 5.2 resolves against the whole of it: `#top` and `?` keep its path, `#top` its query too.
   */
  readonly target: string
  /** `http:` or `https:`, as Fastify sees the request (trustProxy aware). */
  protocol (): string
  /** The request's own origin (`https://api.example.com`), or null when its Host is unusable. */
  origin (): string | null
}

/** `scheme://authority` at the start of an absolute-form request target (RFC 9112 section 3.2.2). */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/

/**
 * The path and query of a request target, whatever its form (RFC 9112 section 3.2): origin form
 * `/books/1?x=1` as it is; absolute form `http://host/books/1?x=1`, which servers must accept and
 * forward proxies send, as `/books/1?x=1`; the asterisk and authority forms as `/`.
 */
export function originFormOf (requestTarget: string): string {
  if (requestTarget.startsWith('/')) return requestTarget
  const authority = ABSOLUTE_FORM.exec(requestTarget)
  if (authority === null) return '/'
  const rest = requestTarget.slice(authority[0].length)
  // an empty path is "/" (RFC 9112 section 3.2.2): `http://host?x=1` is `/?x=1`
  return rest.startsWith('/') ? rest : '/' + rest
}

/** The request a payload answers, as the base of its relative references; computed on demand. */
export class RequestBase implements ReferenceBase {
  private cachedTarget: string | undefined
  private cachedOrigin: string | null | undefined

  constructor (private readonly request: FastifyRequest) {}

  get target (): string {
    this.cachedTarget ??= originFormOf(this.request.url)
    return this.cachedTarget
  }

  /** The target's path, without its query. */
  get path (): string {
    const target = this.target
    const query = target.indexOf('?')
    return query === -1 ? target : target.slice(0, query)
  }

  protocol (): string {
    return this.request.protocol === 'https' ? 'https:' : 'http:'
  }

  origin (): string | null {
    if (this.cachedOrigin === undefined) {
      const candidate = `${this.protocol()}//${this.request.host}`
      this.cachedOrigin = URL.canParse(candidate) ? new URL(candidate).origin : null
    }
    return this.cachedOrigin
  }
}

/** RFC 3986 pchar (unreserved, sub-delims, `:`, `@`) and `/`; `%` is checked apart. */
const PATH_CHARS = new Uint8Array(128)
for (const char of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/") PATH_CHARS[char.charCodeAt(0)] = 1
const SLASH = 0x2f
const DOT = 0x2e
const PERCENT = 0x25
const QUESTION_MARK = 0x3f

function isHex (code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || ((code | 0x20) >= 0x61 && (code | 0x20) <= 0x66)
}

/**
 * True for a path-absolute reference that needs no work: RFC 3986 characters only, valid
 * percent escapes, no `//` at the start, and no segment starting with a dot (plain or `%2e`,
 * which could be a dot segment). Most relation values (`/authors/1`) take this branch: one
 * pass over the characters, no regular expression, no allocation. The rest is resolved by
 * `toPreloadPath`, which gives the same answer for what passes here.
 */
export function isReadyPath (reference: string, maxLength: number): boolean {
  const length = reference.length
  if (length === 0 || length > maxLength || reference.charCodeAt(0) !== SLASH || reference.charCodeAt(1) === SLASH) return false
  let query = false
  for (let i = 1; i < length; i++) {
    const code = reference.charCodeAt(i)
    if (code === PERCENT) {
      if (!isHex(reference.charCodeAt(i + 1)) || !isHex(reference.charCodeAt(i + 2))) return false
      if (!query && reference.charCodeAt(i - 1) === SLASH && reference.charCodeAt(i + 1) === 0x32 && (reference.charCodeAt(i + 2) | 0x20) === 0x65) return false
      i += 2
    } else if (code === QUESTION_MARK) {
      query = true
    } else if (code >= 128 || PATH_CHARS[code] === 0) {
      return false
    } else if (code === DOT && !query && reference.charCodeAt(i - 1) === SLASH) {
      return false
    }
  }
  return true
}
/** A UTF-16 surrogate without its pair: no UTF-8 form; the URL parser would turn it into U+FFFD. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
/** `//host` or a backslash variant: a network-path reference, never relative to the request. */
const NETWORK_PATH = /^[/\\]{2}/
/** A percent sign that does not start a pct-encoded triplet. */
const LONE_PERCENT = /%(?![0-9A-Fa-f]{2})/g
/** C0 controls and DEL: the URL parser would silently drop tabs and newlines; such values are skipped. */
const CONTROL = /[\x00-\x1f\x7f]/ // eslint-disable-line no-control-regex
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/
/** Characters the URL parser may leave in a path or query that RFC 3986 does not allow. */
const NOT_URI_CHAR = /[^A-Za-z0-9\-._~!$&'()*+,;=:@%/?]/g
/** A host no request can have, so that relative references are recognizable after parsing. */
const PLACEHOLDER_HOST = 'fastify-push-relations.invalid'

function percentEncode (char: string): string {
  return encodeURIComponent(char)
}

/**
 * @param reference the value found in the payload
 * @param base the request the payload answers
 * @param origins other origins whose absolute URLs count as the API's own (normalized)
 * @param maxLength longer results are skipped (they could not fit the header's byte cap anyway)
 * @returns a path-absolute reference (`/authors/1?x=1`, fragment dropped), or null to skip the value
 */
export function toPreloadPath (reference: string, base: ReferenceBase, origins: ReadonlySet<string>, maxLength: number): string | null {
  if (isReadyPath(reference, maxLength)) return reference
  if (reference.length === 0 || reference.length > maxLength) return null
  if (CONTROL.test(reference) || LONE_SURROGATE.test(reference)) return null
  // the URL parser strips leading and trailing spaces: encode them all first
  reference = reference.replaceAll(' ', '%20')

  const scheme = SCHEME.exec(reference)?.[1]?.toLowerCase()
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') return null // javascript:, data:, mailto:...

  const placeholderOrigin = `${base.protocol()}//${PLACEHOLDER_HOST}`
  let url: URL
  try {
    url = new URL(reference, placeholderOrigin + base.target)
  } catch {
    return null
  }
  if (url.origin === placeholderOrigin) {
    // Relative and path-absolute references land here; an absolute URL naming the placeholder does not count.
    if (scheme !== undefined || NETWORK_PATH.test(reference)) return null
  } else if (url.origin !== base.origin() && !origins.has(url.origin)) {
    return null // another origin (absolute or scheme-relative): not this API's resource
  }

  const path = (url.pathname + url.search).replace(NOT_URI_CHAR, percentEncode).replace(LONE_PERCENT, '%25')
  // a path starting with "//" would be read as a network-path reference to another host
  if (path.startsWith('//')) return null
  return path.length <= maxLength ? path : null
}
