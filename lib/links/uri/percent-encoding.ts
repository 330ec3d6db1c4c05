/** Only unreserved characters stand unencoded in a URI component (RFC 3986 section 2.3). */
const UNRESERVED = /^[A-Za-z0-9\-._~]*$/
/** What `encodeURIComponent` leaves alone although RFC 3986 reserves it. */
const SUB_DELIMS_LEFT_BY_ENCODE_URI_COMPONENT = /[!'()*]/g

/**
 * Percent-encodes every character but the unreserved ones, as RFC 6570 simple expansion and
 * query values need (`a b/c*` -> `a%20b%2Fc%2A`). Null for a string with a lone surrogate,
 * which has no UTF-8 form.
 */
export function encodeUriComponentStrictly (value: string): string | null {
  if (UNRESERVED.test(value)) return value
  let encoded: string
  try {
    encoded = encodeURIComponent(value)
  } catch {
    return null
  }
  return encoded.replace(SUB_DELIMS_LEFT_BY_ENCODE_URI_COMPONENT, (char) => '%' + char.charCodeAt(0).toString(16).toUpperCase())
}
