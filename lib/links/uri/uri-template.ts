import { encodeUriComponentStrictly } from './percent-encoding.js'

/**
 * RFC 6570 level 1 URI templates (`/authors/{id}`), compiled once at registration.
 *
 * Why not the `url-template` package: it is ESM only (this package must also load with
 * `require`), it re-parses the template on every expansion, and it does not expose the
 * variable names, which the plugin needs at startup to check them against the schema.
 * Level 1 is small enough to implement exactly here.
 */

export interface UriTemplate {
  readonly source: string
  /** Variable names, in order of appearance (duplicates kept once). */
  readonly variables: readonly string[]
  /** Literal parts around the variables: `literals.length === parts.length + 1`. */
  readonly literals: readonly string[]
  /** The variable of each expression, by position. */
  readonly parts: readonly string[]
  /** How many expressions stand in the path, before any literal `?` or `#`. */
  readonly pathParts: number
}

/** RFC 6570 section 2.3: varchar = ALPHA / DIGIT / "_" / pct-encoded, names may be dotted. */
const VARNAME = /^(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+(?:\.(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+)*$/
/** Operators and modifiers of levels 2 to 4, which this implementation rejects. */
const HIGHER_LEVEL = /^[+#./;?&=,!@|]|[*:,]/

/** Parses a template; returns a description of the first problem instead of throwing. */
export function parseUriTemplate (source: string): UriTemplate | string {
  const literals: string[] = []
  const parts: string[] = []
  let pathParts = 0
  let inPath = true
  let literal = ''
  let index = 0
  while (index < source.length) {
    const char = source[index] as string
    if (char === '}') return `unexpected "}" at offset ${index}`
    if (char !== '{') {
      literal += char
      index++
      continue
    }
    const end = source.indexOf('}', index)
    if (end === -1) return `unclosed "{" at offset ${index}`
    const expression = source.slice(index + 1, end)
    if (HIGHER_LEVEL.test(expression)) {
      return `"{${expression}}" needs RFC 6570 level 2 or more; only simple "{name}" expressions are supported`
    }
    if (!VARNAME.test(expression)) return `"{${expression}}" is not a valid variable name`
    inPath &&= !literal.includes('?') && !literal.includes('#')
    if (inPath) pathParts++
    literals.push(literal)
    parts.push(expression)
    literal = ''
    index = end + 1
  }
  literals.push(literal)
  return { source, variables: [...new Set(parts)], literals, parts, pathParts }
}

/** The string form of a variable's value, or null when it has none a URI could hold. */
export function templateValue (value: unknown): string | null {
  if (typeof value === 'string') return value.length === 0 ? null : value
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null
  if (typeof value === 'bigint') return String(value)
  return null
}

/**
 * Expands the template with `lookup(name)` for each variable. Returns null when a variable
 * has no usable value: a link with an empty segment (`/authors/`) would point elsewhere, and
 * `.` or `..` in the path would be a dot segment (`/authors/..` is `/`). A value never changes
 * which segments stand outside it. In the query, dots are plain data.
 */
export function expandUriTemplate (template: UriTemplate, lookup: (name: string) => unknown): string | null {
  const { literals, parts, pathParts } = template
  let out = literals[0] as string
  for (let i = 0; i < parts.length; i++) {
    const raw = templateValue(lookup(parts[i] as string))
    if (raw === null) return null
    const encoded = encodeUriComponentStrictly(raw)
    if (encoded === null) return null
    // Dots are unreserved, so they are never encoded: "." and ".." reach the URI as they are.
    // Any dot segment a value could form with its neighbours needs such a value: "." + "." is "..".
    if (i < pathParts && (encoded === '.' || encoded === '..')) return null
    out += encoded + (literals[i + 1] as string)
  }
  return out
}
