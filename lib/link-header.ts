import type { FastifyReply } from 'fastify'
import type { LinkSet } from './link-set.js'

/**
 * Where the header is written: one `Link` header, entries joined by `, `. A value set by the
 * handler or another plugin stays first, and entries it already names are not repeated. Called
 * in onSend, and earlier by `reply.preload()`: each call writes the entries not written yet.
 */
export function writeLinkHeader (reply: FastifyReply, links: LinkSet, maxLinkBytes: number): void {
  const { entries, paths } = links
  const from = links.flushedEntries
  links.flushedEntries = entries.length
  if (from === entries.length) return
  const existing = reply.getHeader('link')
  if (existing === undefined || existing === '') {
    reply.header('link', from === 0 ? entries.join(', ') : entries.slice(from).join(', '))
    return
  }
  const current = Array.isArray(existing) ? existing.join(', ') : String(existing)
  let end = entries.length
  if (from === 0) {
    // links.bytes counts our entries and the separators between them; the one after someone
    // else's value counts too, so the last entries may have to go.
    let bytes = links.bytes + 2
    while (bytes > maxLinkBytes) bytes -= (entries[--end] as string).length + 2
  }
  const added: string[] = []
  for (let i = from; i < end; i++) {
    if (!current.includes('<' + (paths[i] as string) + '>')) added.push(entries[i] as string)
  }
  if (added.length > 0) reply.header('link', current + ', ' + added.join(', '))
}
