/**
 * Turns a relation value from a payload into a path that is safe to preload.
 *
 * Values come from API data, so they are untrusted: whatever they hold, the result is either
 * null (skip it) or a path-absolute URI reference of RFC 3986 characters only, which can stand
 * between `<` and `>` in a header without ending it or starting a new header line.
 */

/** What relative references resolve against: the request the payload answers. */
export interface ReferenceBase {
  /** The request's path as received, without its query. */
  readonly path: string
  /** `http:` or `https:`, as Fastify sees the request (trustProxy aware). */
  protocol (): string
  /** The request's own origin (`https://api.example.com`), or null when its Host is unusable. */
  origin (): string | null
}

/**
 * Path-absolute references made of RFC 3986 characters, without dot segments, need no work:
 * most relation values (`/authors/1`) take this branch, without allocating anything.
 */
const READY_PATH = /^\/(?![/\\])(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*(?:\?(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?$/
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:[/?]|$)/i
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
  if (reference.length === 0 || reference.length > maxLength) return null
  if (READY_PATH.test(reference) && !DOT_SEGMENT.test(reference)) return reference
  if (CONTROL.test(reference) || LONE_SURROGATE.test(reference)) return null
  // the URL parser strips leading and trailing spaces: encode them all first
  reference = reference.replaceAll(' ', '%20')

  const scheme = SCHEME.exec(reference)?.[1]?.toLowerCase()
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') return null // javascript:, data:, mailto:...

  const placeholderOrigin = `${base.protocol()}//${PLACEHOLDER_HOST}`
  let url: URL
  try {
    url = new URL(reference, placeholderOrigin + base.path)
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
