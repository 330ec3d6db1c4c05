/**
 * JSON Pointers (RFC 6901), as used in `$ref` fragments, and the extended form of the Vulcain
 * draft used to name payload positions: a `*` token stands for every array element or object
 * value, and `~2` stands for a literal `*` key.
 */

/** Escapes one reference token: `~` as `~0`, `/` as `~1`, and a key that is exactly `*` as `~2`. */
export function escapePointerToken (token: string): string {
  if (token === '*') return '~2'
  return token.includes('~') || token.includes('/') ? token.replaceAll('~', '~0').replaceAll('/', '~1') : token
}

/**
 * Parses the fragment of a `$ref` (`/definitions/author`, percent-encoded as URI fragments are).
 * Returns the reference tokens, or null when the fragment is not a JSON Pointer (e.g. an anchor).
 */
export function parseJsonPointer (fragment: string): string[] | null {
  if (fragment === '') return []
  let pointer: string
  try {
    pointer = decodeURIComponent(fragment)
  } catch {
    return null
  }
  if (!pointer.startsWith('/')) return null
  return pointer.slice(1).split('/').map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'))
}
