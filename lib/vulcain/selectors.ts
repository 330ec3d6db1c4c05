import { parseList, serializeList, type Parameters as ItemParameters } from 'structured-headers'
import { encodeUriComponentStrictly } from '../links/uri/percent-encoding.js'

/**
 * The `Preload` and `Fields` directives of the Vulcain protocol (draft-dunglas-vulcain-01):
 * RFC 8941 lists of strings, each an extended JSON Pointer (`*` for every element, `~2` for a
 * literal `*`). Parsed with `structured-headers`, a proven RFC 8941 implementation, rather than
 * by hand. Anything invalid or over the limits is ignored as if absent.
 */

/** One reference token of a selector: a name (or index), or `*`. */
export type SelectorToken = string | typeof WILDCARD

/** The `*` token: every array element, every object value. */
export const WILDCARD: unique symbol = Symbol('vulcain *')

/**
 * RFC 8941 parameters as structured-headers parses them. Declared here: structured-headers'
 * own declarations need the DOM's `BufferSource`, and would break the package's types for
 * Node projects without the DOM lib that check libraries (`skipLibCheck: false`).
 */
type Parameters = ReadonlyMap<string, unknown>

/** One selector: its tokens, and the parameters it came with (carried along to the next hop). */
export interface Selector {
  readonly tokens: readonly SelectorToken[]
  readonly parameters: Parameters
}

export interface SelectorLimits {
  /** Most selectors per directive. */
  readonly maxSelectors: number
  /** Most tokens per selector. */
  readonly maxDepth: number
  /** Most bytes of one directive (the header, or the query parameter). */
  readonly maxBytes: number
}

/** Why a directive was ignored; logged at debug level. */
export type SelectorProblem = 'invalid' | 'too-long' | 'too-many' | 'too-deep'

/** Unescapes a token: `~1` is `/`, `~0` is `~`, `~2` is a literal `*`; a bare `*` is the wildcard. */
function token (raw: string): SelectorToken {
  if (raw === '*') return WILDCARD
  return raw.includes('~') ? raw.replace(/~[012]/g, (escape) => escape === '~0' ? '~' : escape === '~1' ? '/' : '*') : raw
}

/** Escapes a token back for a remaining selector. */
function escape (part: SelectorToken): string {
  if (part === WILDCARD) return '*'
  return part.replace(/[~/*]/g, (char) => char === '~' ? '~0' : char === '/' ? '~1' : '~2')
}

/**
 * Parses one directive (a header value, with repeated lines already joined by `, `, or the
 * query parameters joined the same way). Returns the selectors, or why the directive is ignored.
 */
export function parseSelectors (value: string, limits: SelectorLimits): Selector[] | SelectorProblem {
  if (value.length > limits.maxBytes) return 'too-long'
  let list: ReturnType<typeof parseList>
  try {
    list = parseList(value)
  } catch {
    return 'invalid'
  }
  if (list.length > limits.maxSelectors) return 'too-many'
  const selectors: Selector[] = []
  for (const [item, parameters] of list) {
    // The draft says the values MUST be strings: numbers, tokens and inner lists make it invalid.
    if (typeof item !== 'string') return 'invalid'
    if (item !== '' && !item.startsWith('/')) return 'invalid'
    const tokens = item === '' ? [] : item.slice(1).split('/').map(token)
    if (tokens.length > limits.maxDepth) return 'too-deep'
    selectors.push({ tokens, parameters })
  }
  return selectors
}

/** Serializes remaining selectors (tokens past a relation) as a directive value. */
export function serializeSelectors (selectors: readonly Selector[]): string {
  return serializeList(selectors.map(({ tokens, parameters }) => [tokens.length === 0 ? '' : '/' + tokens.map(escape).join('/'), parameters as ItemParameters]))
}

/**
 * Percent-encodes a directive for the query form, as RFC 3986 demands for query values: every
 * character but the unreserved ones (`*` included, as in the draft's examples). Directive
 * values are ASCII (RFC 8941 strings), so the encoding cannot fail.
 */
export function encodeQueryValue (value: string): string {
  return encodeUriComponentStrictly(value) as string
}

/** Serialized selectors, by selector: remainders are shared objects, serialized once. */
const serializedSelectors = new WeakMap<Selector, string>()

function keyOf (selector: Selector): string {
  let key = serializedSelectors.get(selector)
  if (key === undefined) serializedSelectors.set(selector, key = serializeSelectors([selector]))
  return key
}

/** What remains of the selectors for one linked resource, merged over every way to reach it. */
export class Remainders {
  /** Made on first use: most relations have nothing left of Preload. */
  private preload: Map<string, Selector> | null = null
  /** Null: every field of the linked resource is wanted. */
  private fields: Map<string, Selector> | null | undefined = undefined

  add (preload: readonly Selector[], fields: readonly Selector[] | null): void {
    if (preload.length > 0) {
      this.preload ??= new Map()
      for (const selector of preload) this.preload.set(keyOf(selector), selector)
    }
    if (fields === null) this.fields = null
    else if (this.fields !== null) {
      this.fields ??= new Map()
      for (const selector of fields) this.fields.set(keyOf(selector), selector)
    }
  }

  /** The request headers of a pushed request for the linked resource. */
  headers (): Record<string, string> {
    const headers: Record<string, string> = {}
    if (this.preload !== null) headers.preload = serializeSelectors([...this.preload.values()])
    if (this.fields != null && this.fields.size > 0) headers.fields = serializeSelectors([...this.fields.values()])
    return headers
  }
}
