import http from 'node:http'
import https from 'node:https'
import type { ResolvedPurge } from './options.js'

/*
 * The purge requests of each kind of cache, as their docs give them. A batch of tags is split
 * into chunks so that the header carrying them stays under the node's limit (Varnish takes
 * 8 KB per header by default; API Platform chunks its BAN regex the same way).
 */

/** One HTTP request that purges `tags` from one node. */
export interface PurgeRequest {
  readonly tags: readonly string[]
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
}

export interface PurgeChunks {
  readonly requests: PurgeRequest[]
  /** Tags too long to fit one request alone: they cannot be purged. */
  readonly oversized: string[]
}

/**
 * A tag as a regular expression that matches only itself. Tags are percent-encoded paths: the
 * only metacharacters they can hold are `$ ( ) * + .`, each written as a one-character class
 * (`[.]`), which needs no backslash that a VCL string or a ban expression could eat. (`[ ] ^ \\`
 * cannot occur: a tag has them percent-encoded.)
 */
export function tagPattern (tag: string): string {
  return tag.replace(/[$()*+.?{}|]/g, (char) => `[${char}]`)
}

/** The BAN regex over a comma-separated tag header for these tags. */
export function banRegex (tags: readonly string[]): string {
  return `(^|,)(${tags.map(tagPattern).join('|')})(,|$)`
}

/** The fixed bytes of a BAN regex around the alternatives, and each alternative's separator. */
const BAN_FRAME = banRegex(['']).length

/** Splits `tags` into groups whose joined size (`size(tag) + gap` each) stays under `max`. */
function chunk (tags: readonly string[], size: (tag: string) => number, gap: number, frame: number, max: number, maxTags: number): { chunks: string[][], oversized: string[] } {
  const chunks: string[][] = []
  const oversized: string[] = []
  let current: string[] = []
  let bytes = frame
  for (const tag of tags) {
    const length = size(tag)
    if (frame + length > max) {
      oversized.push(tag)
      continue
    }
    const next = bytes + length + (current.length === 0 ? 0 : gap)
    if (current.length > 0 && (next > max || current.length === maxTags)) {
      chunks.push(current)
      current = []
      bytes = frame
    }
    bytes += length + (current.length === 0 ? 0 : gap)
    current.push(tag)
  }
  if (current.length > 0) chunks.push(current)
  return { chunks, oversized }
}

/** The purge requests for `tags`, for one node of the configured kind. */
export function purgeRequests (tags: readonly string[], config: ResolvedPurge): PurgeChunks {
  const max = config.maxHeaderBytes
  if (config.kind === 'ban') {
    const { chunks, oversized } = chunk(tags, (tag) => tagPattern(tag).length, 1, BAN_FRAME, max, Number.MAX_SAFE_INTEGER)
    return { oversized, requests: chunks.map((group) => ({ tags: group, method: 'BAN', headers: { [config.banHeader]: banRegex(group) }, body: undefined })) }
  }
  if (config.kind === 'xkey') {
    const { chunks, oversized } = chunk(tags, (tag) => tag.length, 1, 0, max, Number.MAX_SAFE_INTEGER)
    return { oversized, requests: chunks.map((group) => ({ tags: group, method: 'PURGE', headers: { xkey: group.join(' ') }, body: undefined })) }
  }
  const { method, headers, tagHeader, separator, body, maxTags } = config.http
  const { chunks, oversized } = chunk(tags, (tag) => tag.length, separator.length, 0, max, maxTags)
  return {
    oversized,
    requests: chunks.map((group) => body === undefined
      ? { tags: group, method, headers: { ...headers, [tagHeader]: group.join(separator) }, body: undefined }
      : { tags: group, method, headers, body: body(group) })
  }
}

/** Keep-alive agents: a purge storm reuses connections; idle sockets do not hold the process open. */
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) }

/** Sends one purge request; resolves on a 2xx answer, rejects otherwise (or after `timeout` ms idle). */
export function sendPurge (url: URL, request: PurgeRequest, timeout: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:'
    const client = secure ? https : http
    const outgoing = client.request(url, { method: request.method, headers: request.headers, agent: agents[secure ? 'https:' : 'http:'], timeout }, (response) => {
      const status = response.statusCode as number
      response.resume()
      response.once('end', () => {
        if (status >= 200 && status < 300) resolve()
        else reject(new Error(`${request.method} ${url.href} answered ${status}`))
      })
      response.once('error', reject)
    })
    outgoing.once('timeout', () => { outgoing.destroy(new Error(`${request.method} ${url.href} timed out after ${timeout} ms`)) })
    outgoing.once('error', reject)
    outgoing.end(request.body)
  })
}
