import type { FastifyInstance, FastifyPluginCallback, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { defaultRule } from './annotation/annotation.js'
import { FST_PUSH_RELATIONS_ALREADY_REGISTERED } from './errors.js'
import { CacheTags, kCacheTags, kWritten, takesWrites, type CacheTagStats, type RoutePurge } from './cache-tags/hooks.js'
import { Pusher } from './deliver/pusher.js'
import type { PurgeResult } from './cache-tags/purge-queue.js'
import { resolveOptions, type PushRelationsOptions, type ResolvedOptions } from './options.js'
import { kLinks, ReplyLinks } from './deliver/reply-links.js'
import { compileRoute, type CompiledRoute, type ResponsePreloads } from './compile/route-compiler.js'
import { collectHook, writeHook, type RouteState } from './route-hooks.js'
import { varyOnDirectives } from './vulcain/vary.js'
import { Vulcain } from './vulcain/vulcain.js'
import { vulcainRoute } from './vulcain/vulcain-route.js'
import { hasPlans } from './compile/route-plans.js'

/** One route that gets links, for one method and URL, as `fastify.pushRelations.routes()` lists it. */
export interface RoutePreloads {
  readonly method: RouteOptions['method']
  readonly url: string
  readonly responses: readonly ResponsePreloads[]
}

/** The `fastify.pushRelations` decorator. */
export interface PushRelationsDecorator {
  /**
   * The routes with relations, one entry per method and URL as `fastify.printRoutes()` shows
   * them, and per 2xx response the payload pointers that are preloaded.
   */
  routes (): RoutePreloads[]
  /**
   * Purges these paths (and their collections) from every cache node of the `cacheTags` option,
   * from anywhere (a queue worker, a cron). Never rejects: failures are in the result.
   */
  purge (tags: readonly string[]): Promise<PurgeResult>
  /** Counters, for monitoring. */
  stats (): { cacheTags: CacheTagStats | null }
}

declare module 'fastify' {
  interface FastifyInstance {
    pushRelations: PushRelationsDecorator
  }
  interface FastifyContextConfig {
    /** Per-route settings of fastify-push-relations. */
    pushRelations?: {
      /** `false`: this route ignores the Vulcain directives (when the plugin's `vulcain` is on). */
      vulcain?: boolean
      /**
       * With `cacheTags`: extra tags a 2xx write of this route purges, besides the request path,
       * the body's IRI and their collections; `false`: this route purges nothing.
       */
      purge?: RoutePurge | false
    }
  }
}

type Hooks<T> = T | T[] | undefined

function appendHook<T> (hooks: Hooks<T>, hook: T): T[] {
  if (hooks === undefined) return [hook]
  return Array.isArray(hooks) ? [...hooks, hook] : [hooks, hook]
}

function routeName (routeOptions: RouteOptions): string {
  const method = Array.isArray(routeOptions.method) ? routeOptions.method.join(',') : routeOptions.method
  return `${method} ${routeOptions.url}`
}

function pushRelations (fastify: FastifyInstance, rawOptions: PushRelationsOptions, done: (error?: Error) => void): void {
  let options: ResolvedOptions
  try {
    options = resolveOptions(rawOptions)
  } catch (error) {
    // A throw here would escape avvio: reject register() and ready() instead.
    done(error as Error)
    return
  }
  // Decorating twice throws FST_ERR_DEC_ALREADY_PRESENT out of avvio, uncaught: reject instead.
  if (fastify.hasDecorator('pushRelations')) {
    done(new FST_PUSH_RELATIONS_ALREADY_REGISTERED())
    return
  }
  const replyLinks = new ReplyLinks(options, new Pusher(fastify, options), defaultRule(options))
  const annotated: AnnotatedRoute[] = []
  const pending: Array<{ state: RouteState, entry: AnnotatedRoute, recompile: () => CompiledRoute }> = []

  warnAboutEarlierRoutes(fastify)

  try {
    fastify.decorateReply(kLinks, null)
    fastify.decorateReply('preload', replyLinks.preloadDecorator())
  } catch (error) {
    done(error as Error) // another plugin already decorates reply.preload
    return
  }
  const cacheTags = options.cacheTags === null ? null : new CacheTags(options.cacheTags, options, fastify.log)
  fastify.decorate('pushRelations', {
    routes: () => annotated.filter((route) => route.responses.length > 0).flatMap(listedRoutes),
    purge: async (tags: readonly string[]) => cacheTags === null ? { tags: [], failures: [] } : await cacheTags.purge(tags),
    stats: () => ({ cacheTags: cacheTags === null ? null : cacheTags.stats() })
  })
  if (cacheTags !== null) {
    fastify.decorateReply(kCacheTags, null)
    fastify.decorateReply(kWritten, undefined)
    // fastify.close() waits for the purges in flight (at most cacheTags.purge.closeTimeout).
    fastify.addHook('onClose', async () => { await cacheTags.close() })
  }

  const vulcain = options.vulcain === null ? null : new Vulcain(options.vulcain, options.iriKey, replyLinks.handlerRule, options.maxCandidates)
  const writeLinks = writeHook(replyLinks)

  fastify.addHook('onRoute', function attachPushRelations (this: FastifyInstance, routeOptions) {
    const route = routeName(routeOptions)
    const getSchema = (id: string): unknown => this.getSchema(id)
    const response = routeOptions.schema?.response
    const compiled = compileRoute(response, getSchema, options, route)
    const routeVulcain = routeOptions.config?.pushRelations?.vulcain === false ? null : vulcain
    const annotatedRoute = compiled.unresolved.length > 0 || hasPlans(compiled.plans)

    if (annotatedRoute || routeVulcain !== null) {
      const state: RouteState = { plans: compiled.plans, keys: compiled.keys, vulcain: routeVulcain === null ? null : vulcainRoute(response, getSchema, compiled, options, route) }
      routeOptions.preSerialization = appendHook(routeOptions.preSerialization, collectHook(state, options, replyLinks, routeVulcain, cacheTags))
      if (annotatedRoute) {
        const entry = { method: routeOptions.method, url: routeOptions.url, responses: compiled.preloads, options: routeOptions }
        annotated.push(entry)
        if (compiled.unresolved.length > 0) {
          pending.push({ state, entry, recompile: () => compileRoute(response, getSchema, options, route) })
        }
        this.log.debug({ route, preloads: compiled.preloads }, 'fastify-push-relations: relations compiled')
      }
    }
    if (routeVulcain !== null) routeOptions.onSend = appendHook(routeOptions.onSend, varyOnDirectives)
    // reply.preload() works on any route: this hook writes its links again after a Link value the
    // handler sets later, and makes the deeper hops of its pushes wait. Without links, it returns at once.
    routeOptions.onSend = appendHook(routeOptions.onSend, writeLinks)
    if (cacheTags !== null) attachCacheTags(routeOptions, cacheTags)
  })

  // Shared schemas may be added after the routes that use them; Fastify resolves them at ready.
  fastify.addHook('onReady', function compilePendingRoutes (done) {
    try {
      for (const { state, entry, recompile } of pending) {
        const compiled = recompile()
        state.plans = compiled.plans
        state.keys = compiled.keys
        entry.responses = compiled.preloads
        if (compiled.unresolved.length > 0) {
          fastify.log.warn({ route: `${String(entry.method)} ${entry.url}`, unresolved: compiled.unresolved },
            'fastify-push-relations: $ref not found in the route\'s context; x-push annotations behind it are ignored')
        }
      }
      done()
    } catch (error) {
      done(error as Error)
    }
  })

  done()
}

/** An annotated route as `onRoute` saw it; `options` is the object Fastify goes on registering. */
interface AnnotatedRoute {
  readonly method: RouteOptions['method']
  readonly url: string
  responses: readonly ResponsePreloads[]
  readonly options: RouteOptions
}

/**
 * The routes `entry` stands for, one per method and URL as `printRoutes()` shows them. Under a
 * prefix, a `'/'` route is also registered as `prefix + '/'` (`prefixTrailingSlash: 'both'`)
 * from the same options, which Fastify then rewrites, without running `onRoute` again: the
 * second URL shows in `options.url` once registration is over (its HEAD twin is seen apart).
 */
function listedRoutes (entry: AnnotatedRoute): RoutePreloads[] {
  const urls = [entry.url]
  const { url, routePath } = entry.options as RouteOptions & { routePath?: string }
  if (url !== entry.url && routePath === '/') urls.push(url)
  const methods = Array.isArray(entry.method) ? entry.method : [entry.method]
  return methods.flatMap((method) => urls.map((url) => ({ method, url, responses: entry.responses })))
}

/** Tags on reads, purges after writes: every route may need them, annotated or not. */
function attachCacheTags (routeOptions: RouteOptions, cacheTags: CacheTags): void {
  const routePurge = routeOptions.config?.pushRelations?.purge
  routeOptions.onSend = appendHook(routeOptions.onSend, cacheTags.sendHook(routePurge))
  if (routePurge === false || !takesWrites(routeOptions.method)) return
  routeOptions.preSerialization = appendHook(routeOptions.preSerialization, cacheTags.rememberPayload)
  routeOptions.onResponse = appendHook(routeOptions.onResponse, cacheTags.responseHook(routePurge))
}

/** Methods whose responses can carry a payload with relations (HEAD follows GET). */
const PAYLOAD_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']

/**
 * `onRoute` only sees routes registered after it is added: earlier ones would silently get no
 * links. Such routes are already in the router when the plugin loads, so they are named here
 * (OPTIONS routes, like @fastify/cors's preflight, carry no payload and are left out).
 * Fastify exposes no schema of a registered route (`printRoutes({ includeMeta })` shows only
 * its hooks, error handler and log settings), so the list cannot be narrowed to the routes
 * with `x-push`: the message says which ones matter instead.
 */
function warnAboutEarlierRoutes (fastify: FastifyInstance): void {
  const earlier = PAYLOAD_METHODS
    .map((method) => fastify.printRoutes({ commonPrefix: false, method }))
    .filter((tree) => tree.includes('── ')) // an empty router prints "(empty tree)"
  if (earlier.length === 0) return
  fastify.log.warn(
    'fastify-push-relations was registered after these routes and cannot see their x-push annotations; ' +
    'register it before your routes (await fastify.register(pushRelations)). ' +
    'Only routes with x-push in a response schema (or that should answer Vulcain requests) lose something, ' +
    'the others (documentation UIs, health checks...) are unaffected:\n' + earlier.join('')
  )
}

export const plugin: FastifyPluginCallback<PushRelationsOptions> = fp(pushRelations, {
  fastify: '5.x',
  name: 'fastify-push-relations'
})
