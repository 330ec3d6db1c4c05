import { plugin } from './plugin.js'
// The `reply.preload()` declaration lives there: this import makes it part of the package's
// types (a `declare module 'fastify'` reaches users only from a file their entry imports).
import './deliver/reply-links.js'

/**
 * fastify-push-relations: `x-push` annotations in response schemas become preload `Link`
 * headers, so that HTTP/2 proxies and CDNs push or preload the related resources.
 *
 *     await fastify.register(pushRelations)
 */
const pushRelations = plugin

export default pushRelations
// `fastifyPushRelations`: the name every @fastify plugin exports itself under.
export { pushRelations, pushRelations as fastifyPushRelations }
export { Push } from './annotation/push.js'
export { ajvPlugin, type AjvLike } from './annotation/ajv-plugin.js'
export { KEYWORD, type PushAnnotation, type PushAnnotationObject } from './annotation/annotation.js'
export { FST_PUSH_RELATIONS_ALREADY_REGISTERED, FST_PUSH_RELATIONS_INVALID_ANNOTATION, FST_PUSH_RELATIONS_INVALID_OPTION } from './errors.js'
export type { CrossOrigin, PushRelationsOptions } from './options.js'
export type { PushRelationsDecorator, RoutePreloads } from './plugin.js'
export type { ResponsePreloads } from './compile/route-compiler.js'
export type { CacheTagsOptions, HttpPurgeOptions, PurgeFailure, PurgeOptions, TagHeader } from './cache-tags/options.js'
export type { PurgeResult, PurgeStats } from './cache-tags/purge-queue.js'
export type { CacheTagStats, RoutePurge } from './cache-tags/hooks.js'
