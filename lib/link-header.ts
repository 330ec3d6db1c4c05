import type { FastifyReply } from 'fastify'
import type { LinkSet } from './link-set.js'

/**
 * Where the header is written, in onSend: one `Link` header, entries joined by `, `. A value set
 * by the handler or another plugin stays first; entries it already names are not repeated.
 */
export function writeLinkHeader (reply: FastifyReply, links: LinkSet, maxLinkBytes: number): void {
  const existing = reply.getHeader('link')
  if (existing === undefined || existing === '') {
    reply.header('link', links.entries.join(', '))
    return
  }
  const current = Array.isArray(existing) ? existing.join(', ') : String(existing)
  // The separator before our first entry counts against the cap too.
  let budget = maxLinkBytes
  let added = ''
  for (let i = 0; i < links.entries.length; i++) {
    if (current.includes('<' + (links.paths[i] as string) + '>')) continue
    const entry = links.entries[i] as string
    budget -= entry.length + 2
    if (budget < 0) break
    added += ', ' + entry
  }
  reply.header('link', current + added)
}
