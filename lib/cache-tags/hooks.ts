import type { FastifyBaseLogger, FastifyReply, FastifyRequest, onResponseHookHandler, onSendHookHandler, preSerializationHookHandler } from 'fastify'
import type { PurgeFailure, ResolvedCacheTags } from './options.js'
import { CacheTagSet, collectionOf, tagOf, type TagBase } from './tags.js'
import type { ResolvedOptions } from '../options.js'
import { PurgeQueue, type PurgeResult, type PurgeStats } from './purge-queue.js'
import { RequestBase } from '../links/uri/uri-reference.js'

/*
 * The cache tags at run time: GET/HEAD 2xx responses get the tag header; 2xx writes purge the
 * request path, the IRI of the body and their collections from every cache node.
 */

/** A route's own purge: extra tags for a 2xx write (`config.pushRelations.purge`). */
export type RoutePurge = (request: FastifyRequest, reply: FastifyReply, payload: unknown) => string[] | Promise<string[]>

/** What `fastify.pushRelations.stats().cacheTags` holds. */
export interface CacheTagStats {
  /** GET/HEAD responses that got a tag header. */
  tagged: number
  /** Of those, responses whose tags did not fit and got collection tags instead. */
  coarse: number
  /** Responses marked `Cache-Control: private` because even their collection tags did not fit. */
  uncacheable: number
  purges: PurgeStats
}

export const kCacheTags = Symbol('fastify-push-relations.cacheTags')
export const kWritten = Symbol('fastify-push-relations.written')

interface TaggedReply extends FastifyReply {
  [kCacheTags]: CacheTagSet | null
  /** A write's payload object, for its IRI and the route's purge function. */
  [kWritten]: unknown
}

const READS = new Set(['GET', 'HEAD'])
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
/** Headers that let a shared cache store a response whatever Cache-Control says. */
const SHARED_CACHE_CONTROLS = ['surrogate-control', 'cdn-cache-control']
/** Tags `purge()` takes from one call at most; references beyond are counted as failures. */
const MAX_PURGE_REFERENCES = 10_000

/** True when a route with these methods (`routeOptions.method`) takes writes. */
export function takesWrites (method: string | string[]): boolean {
  return (Array.isArray(method) ? method : [method]).some((name) => WRITES.has(name.toUpperCase()))
}

function isSuccess (reply: FastifyReply): boolean {
  return reply.statusCode >= 200 && reply.statusCode < 300
}

/** `purge()` runs outside any request: references are paths, or URLs of the `origins`. */
const NO_REQUEST: TagBase = { target: '/', path: '/', protocol: () => 'http:', origin: () => null }

export class CacheTags {
  readonly queue: PurgeQueue
  private readonly counts = { tagged: 0, coarse: 0, uncacheable: 0 }
  private readonly writes = new Set<Promise<PurgeResult>>()

  constructor (private readonly config: ResolvedCacheTags, private readonly options: ResolvedOptions, private readonly log: FastifyBaseLogger) {
    this.queue = new PurgeQueue(config.purge, (failure) => { this.report(failure) })
  }

  /** The tags of a GET/HEAD reply, made on first use; null for other methods. */
  readTags (request: FastifyRequest, reply: FastifyReply): CacheTagSet | null {
    if (!READS.has(request.method)) return null
    const state = reply as TaggedReply
    state[kCacheTags] ??= new CacheTagSet(this.config, new RequestBase(request), this.options.origins)
    return state[kCacheTags]
  }

  /** Purges these references (paths) and their collections from every node. */
  async purge (references: readonly unknown[], base: TagBase = NO_REQUEST): Promise<PurgeResult> {
    const tags = new Set<string>()
    const skipped: unknown[] = []
    for (const reference of references.slice(0, MAX_PURGE_REFERENCES)) {
      const tag = typeof reference === 'string' ? tagOf(reference, base, this.options.origins) : null
      if (tag === null) {
        skipped.push(reference)
        continue
      }
      tags.add(tag)
      // Responses whose tags did not fit carry the collections of their resources instead.
      tags.add(collectionOf(tag))
    }
    if (skipped.length > 0 || references.length > MAX_PURGE_REFERENCES) {
      this.log.warn({ skipped: skipped.slice(0, 10).map(String), count: skipped.length + Math.max(0, references.length - MAX_PURGE_REFERENCES) },
        'fastify-push-relations: these purge references name no resource of this API (or are too many) and are ignored')
    }
    return await this.queue.purge([...tags])
  }

  /** For `fastify.close()`: the purges in flight, at most `closeTimeout` ms. */
  async close (): Promise<void> {
    await Promise.all([
      Promise.race([Promise.all(this.writes), this.queue.sleep(this.config.purge.closeTimeout)]),
      this.queue.close()
    ])
  }

  stats (): CacheTagStats {
    return { ...this.counts, purges: this.queue.currentStats() }
  }

  private report (failure: PurgeFailure): void {
    this.log.error({ url: failure.url, tags: failure.tags, attempts: failure.attempts, err: failure.error },
      'fastify-push-relations: purge failed; the cache node may serve stale responses for these tags')
    const callback = this.config.purge.onPurgeError
    if (callback === null) return
    try {
      callback(failure)
    } catch (error) {
      this.log.error({ err: error }, 'fastify-push-relations: onPurgeError threw')
    }
  }

  /** Keeps a write's payload object (before serialization) for its IRI and the route's purge. */
  readonly rememberPayload: preSerializationHookHandler = (request, reply, payload, done) => {
    if (WRITES.has(request.method)) (reply as TaggedReply)[kWritten] = payload
    done(null, payload)
  }

  /** onSend: the tag header of reads; in 'before-response' mode, the purge of writes. */
  sendHook (routePurge: RoutePurge | false | undefined): onSendHookHandler {
    return (request, reply, payload, done) => {
      if (!isSuccess(reply)) {
        done(null, payload)
      } else if (READS.has(request.method)) {
        this.writeHeader(request, reply)
        done(null, payload)
      } else if (this.config.purge.mode === 'before-response' && WRITES.has(request.method) && routePurge !== false) {
        this.purgeWrite(request, reply, routePurge).then(() => { done(null, payload) }, done)
      } else {
        done(null, payload)
      }
    }
  }

  /** onResponse, in 'after-response' mode: the purge of writes, never awaited by the response. */
  responseHook (routePurge: RoutePurge | undefined): onResponseHookHandler {
    return (request, reply, done) => {
      if (this.config.purge.mode === 'after-response' && isSuccess(reply) && WRITES.has(request.method)) {
        // Tracked until queued: an async route purge function may still be running at close().
        const write = this.purgeWrite(request, reply, routePurge)
        this.writes.add(write)
        write.then(() => this.writes.delete(write))
      }
      done()
    }
  }

  private writeHeader (request: FastifyRequest, reply: FastifyReply): void {
    const tags = this.readTags(request, reply) as CacheTagSet
    // Tags the handler set itself are kept, under the same cap.
    const own = reply.getHeader(this.config.header)
    if (own !== undefined) for (const tag of String(own).split(/[\s,]+/)) if (tag !== '') tags.add(tag)
    const value = tags.value()
    if (value === null) {
      reply.removeHeader(this.config.header)
      for (const name of SHARED_CACHE_CONTROLS) reply.removeHeader(name)
      reply.header('cache-control', 'private')
      this.counts.uncacheable++
      return
    }
    reply.header(this.config.header, value)
    this.counts.tagged++
    if (tags.coarsened) this.counts.coarse++
  }

  /** The request path, the body's IRI, the route's own tags; with their collections. */
  private async purgeWrite (request: FastifyRequest, reply: FastifyReply, routePurge: RoutePurge | undefined): Promise<PurgeResult> {
    const base = new RequestBase(request)
    const payload = (reply as TaggedReply)[kWritten]
    const references: unknown[] = [base.path]
    if (typeof payload === 'object' && payload !== null) references.push((payload as Record<string, unknown>)[this.options.iriKey])
    if (routePurge !== undefined) {
      try {
        const extra = await routePurge(request, reply, payload)
        if (Array.isArray(extra)) references.push(...extra)
      } catch (error) {
        request.log.error({ err: error }, 'fastify-push-relations: the route\'s purge function threw; only the default tags are purged')
      }
    }
    return await this.purge(references.filter((reference) => reference !== undefined), base)
  }
}
