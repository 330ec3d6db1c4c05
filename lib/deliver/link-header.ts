import type { FastifyReply } from 'fastify'
import type { LinkSet } from '../links/link-set.js'

/** What a write reads and records: the reply's link set, and what the last write put in the header. */
export interface HeaderLinks {
  readonly set: LinkSet
  written: WrittenLinks | null
}

/**
 * Where the header is written: one `Link` header, entries joined by `, `. A value set by the
 * handler or another plugin (the "foreign" value) stays first, and entries it already names
 * with the same URI and `rel` are not repeated. Called in onSend, and earlier by
 * `reply.preload()`. Each call writes the whole header again from the foreign value and the
 * set's entries, so whatever the handler does between calls (set, replace, append, remove) the
 * final header holds its value first and every entry that fits.
 *
 * `maxLinkBytes` bounds what the plugin adds to the foreign value: its entries and the `, `
 * separators, the one after the foreign value included. Entries are ASCII (RFC 3986 characters
 * and the options' tokens), so their length is their byte count.
 */
export function writeLinkHeader (reply: FastifyReply, links: HeaderLinks, maxLinkBytes: number, count = links.set.entries.length): void {
  const last = links.written
  const current = headerValue(reply.getHeader('link'))
  if (last !== null && current === last.value && last.count === count) return
  const foreign = last === null ? current : foreignValue(current, last)
  // The common case (no foreign value, every entry) needs no work: the set is within the cap.
  const ours = foreign === '' && count === links.set.entries.length ? links.set.entries : entriesToAdd(links.set, count, foreign, maxLinkBytes)
  const value = joinValues(foreign, ours.join(', '))
  links.written = { value, foreign, count }
  if (value !== current) reply.header('link', value)
}

/** What the last write of a link set put in the header. */
export interface WrittenLinks {
  /** The whole header value written. */
  readonly value: string
  /** The part of it that was there before our entries: the handler's or another plugin's value. */
  readonly foreign: string
  /** How many of the set's entries it was made from (some may have been named already or cut by the cap). */
  readonly count: number
}

/**
 * The foreign part of the header now, after a write of ours: unchanged; or a value built on ours
 * (`getHeader('link')` with entries added after it, before it, or both), whose parts then go
 * around the foreign part we wrote; or a new value.
 */
function foreignValue (current: string, last: WrittenLinks): string {
  const { value, foreign } = last
  if (current === value) return foreign
  if (value === '') return current
  // Only as whole entries: `</a>; rel=preload; as=fetch; crossorigin` does not hold `</a>; rel=preload; as=fetch`.
  for (let at = current.indexOf(value); at !== -1; at = current.indexOf(value, at + 1)) {
    const end = at + value.length
    if (isEntryBoundary(current, at - 1, -1) && isEntryBoundary(current, end, 1)) {
      return joinValues(joinValues(trimSeparators(current.slice(0, at)), foreign), trimSeparators(current.slice(end)))
    }
  }
  return current
}

/** True when, from `index` in direction `step`, only white space comes before a comma or the end. */
function isEntryBoundary (value: string, index: number, step: 1 | -1): boolean {
  for (let i = index; i >= 0 && i < value.length; i += step) {
    const code = value.charCodeAt(i)
    if (code === 0x2c) return true
    if (code !== 0x20 && code !== 0x09) return false
  }
  return true
}

/** Without the commas and white space around it (a loop: no regular expression to backtrack). */
function trimSeparators (value: string): string {
  let start = 0
  let end = value.length
  while (start < end && isSeparator(value.charCodeAt(start))) start++
  while (end > start && isSeparator(value.charCodeAt(end - 1))) end--
  return value.slice(start, end)
}

function isSeparator (code: number): boolean {
  return code === 0x2c || code === 0x20 || code === 0x09
}

function joinValues (first: string, second: string): string {
  return first === '' ? second : second === '' ? first : first + ', ' + second
}

/** A header value as one string; several lines (an array) are one list. */
function headerValue (value: unknown): string {
  if (value === undefined) return ''
  return Array.isArray(value) ? value.join(', ') : String(value)
}

/**
 * The first `count` entries of the set that the foreign value does not name already, in order, as many as fit in
 * `maxLinkBytes` with the separator after the foreign value. The set itself was capped without
 * that separator, so the last entry may not fit.
 */
function entriesToAdd (links: LinkSet, count: number, foreign: string, maxLinkBytes: number): string[] {
  const named = namedLinks(foreign)
  const { entries, paths } = links
  const added: string[] = []
  // each entry costs its length and the separator before it; the first one has none without a foreign value
  let bytes = foreign === '' ? -2 : 0
  for (let i = 0; i < count; i++) {
    const entry = entries[i] as string
    if (named.has(linkKey(paths[i] as string, relOf(entry)))) continue
    bytes += entry.length + 2
    if (bytes > maxLinkBytes) break
    added.push(entry)
  }
  return added
}

/** `uri rel` for each relation type of each entry of a Link value: what "already named" means. */
function namedLinks (value: string): Set<string> {
  const named = new Set<string>()
  for (const entry of splitLinkValue(value)) {
    const uri = uriOf(entry)
    if (uri === null) continue
    for (const rel of relOf(entry).split(/[ \t]+/)) if (rel !== '') named.add(linkKey(uri, rel))
  }
  return named
}

/** Relation types compare case-insensitively (RFC 8288 section 2.1.1). */
function linkKey (uri: string, rel: string): string {
  return uri + ' ' + rel.toLowerCase()
}

/**
 * The entries of a Link value (RFC 8288 section 3): split on the commas that are neither
 * inside `<...>` nor inside a quoted string; trimmed, empty ones left out.
 */
export function splitLinkValue (value: string): string[] {
  return splitOutside(value, ',', true).map((entry) => entry.trim()).filter((entry) => entry !== '')
}

/**
 * Splits `value` on `separator` where it stands outside quoted strings (a backslash escapes
 * the next character in them) and, with `uris`, outside `<...>`.
 */
function splitOutside (value: string, separator: string, uris: boolean): string[] {
  const parts: string[] = []
  let start = 0
  let inUri = false
  let inQuotes = false
  for (let i = 0; i < value.length; i++) {
    const char = value[i]
    if (inQuotes) {
      if (char === '\\') i++
      else if (char === '"') inQuotes = false
    } else if (inUri) {
      if (char === '>') inUri = false
    } else if (uris && char === '<') {
      inUri = true
    } else if (char === '"') {
      inQuotes = true
    } else if (char === separator) {
      parts.push(value.slice(start, i))
      start = i + 1
    }
  }
  parts.push(value.slice(start))
  return parts
}

/** The URI reference of an entry (`</a>; rel=x` -> `/a`), or null when it does not start with one. */
function uriOf (entry: string): string | null {
  const end = entry.indexOf('>')
  return entry.startsWith('<') && end !== -1 ? entry.slice(1, end).trim() : null
}

/**
 * The value of an entry's first `rel` parameter (later ones are ignored, RFC 8288 section 3.3),
 * unquoted; '' when it has none.
 */
export function relOf (entry: string): string {
  const end = entry.indexOf('>')
  for (const param of splitOutside(entry.slice(end + 1), ';', false)) {
    const equals = param.indexOf('=')
    const name = (equals === -1 ? param : param.slice(0, equals)).trim().toLowerCase()
    if (name === 'rel') return equals === -1 ? '' : unquote(param.slice(equals + 1).trim())
  }
  return ''
}

/** A token as it is; a quoted string without its quotes and backslash escapes. */
function unquote (value: string): string {
  if (!value.startsWith('"')) return value
  let out = ''
  for (let i = 1; i < value.length; i++) {
    const char = value[i] as string
    if (char === '"') break
    if (char === '\\') i++
    out += value[i] ?? ''
  }
  return out
}
