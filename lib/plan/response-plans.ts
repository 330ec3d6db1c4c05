import type { PlanNode } from './plan-node.js'

/**
 * Which plan applies to a response: the one of the schema Fastify serializes it with. Fastify
 * looks up the exact status, then `2xx`, then `default`; in a `content` map, the media type of
 * the reply's Content-Type, then `*\/*`. The same lookup is resolved here at registration, for
 * the 2xx statuses only (other responses get no links).
 */

/** The plans of a `{ content: { 'media/type': { schema } } }` response. */
export interface MediaTypePlans {
  readonly byMediaType: ReadonlyMap<string, PlanNode | null>
  /** The `*\/*` entry. */
  readonly anyMediaType: PlanNode | null
}

/** What one response key compiled to. */
export type ResponsePlan = PlanNode | MediaTypePlans | null

/** The plan (or media-type plans) for each status from 200 to 299, by `status - 200`. */
export type RoutePlans = ReadonlyArray<ResponsePlan>

export function isMediaTypePlans (plan: ResponsePlan): plan is MediaTypePlans {
  return plan !== null && 'byMediaType' in plan
}

/** The response key Fastify serializes a 2xx status with, and whether it is a `content` map. */
export interface ResponseKey {
  readonly key: string
  readonly contentMap: boolean
}

/** For each status from 200 to 299, by `status - 200`: the key that applies, or null. */
export type ResponseKeys = ReadonlyArray<ResponseKey | null>

/** The media type of a Content-Type value, as Fastify compares it: lower case, without parameters. */
export function mediaTypeOf (contentType: unknown): string {
  if (typeof contentType !== 'string') return ''
  const semicolon = contentType.indexOf(';')
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase()
}

/** The plan for a response with this status and Content-Type (read only for content maps). */
export function planFor (plans: RoutePlans, statusCode: number, reply: { getHeader (name: string): unknown }): PlanNode | null {
  const plan = plans[statusCode - 200]
  if (plan === undefined || plan === null) return null
  if (!isMediaTypePlans(plan)) return plan
  const mediaType = mediaTypeOf(reply.getHeader('content-type'))
  const exact = plan.byMediaType.get(mediaType)
  return exact !== undefined ? exact : plan.anyMediaType
}
