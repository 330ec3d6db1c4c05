// Helpers of the schema compiler's tests (schema-compiler, schema-resolver, link-rules): compile
// a response schema as the plugin does, list the pointers of its plan, and collect the links of
// sample payloads along it.
import type { FastifyRequest } from 'fastify'
import { compileResponseSchema, planPointers, type CompileResult } from '../../lib/compile/schema-compiler.js'
import { compileRoute } from '../../lib/compile/route-compiler.js'
import { collectLinks } from '../../lib/collect/link-collector.js'
import { LinkSet } from '../../lib/links/link-set.js'
import { resolveOptions, type PushRelationsOptions } from '../../lib/options.js'
import type { PlanNode } from '../../lib/plan/plan-node.js'

/** The request the payloads answer: relative references resolve against `/books/1`. */
export const fakeRequest = { url: '/books/1', protocol: 'http', host: 'api.example.com' } as unknown as FastifyRequest
export const site = { route: 'GET /books/:id', response: '200' }

/** Shared schemas (`fastify.addSchema`), by id. */
export type Shared = Record<string, unknown>

/** A `getSchema` stub over `shared`, recording the ids it was asked for. */
export function stub (shared: Shared = {}): { getSchema: (id: string) => unknown, asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    getSchema: (id) => {
      asked.push(id)
      return Object.hasOwn(shared, id) ? shared[id] : undefined
    }
  }
}

/** Compiles one response schema; a startup error becomes `route | response | pointer | problem`. */
export function compile (schema: unknown, shared: Shared = {}, options: PushRelationsOptions = {}): CompileResult {
  return compileResponseSchema(schema, stub(shared).getSchema, resolveOptions(options), site,
    (where, pointer, problem) => new Error(`${where.route} | ${where.response} | ${pointer} | ${problem}`))
}

export function planOf (schema: unknown, shared: Shared = {}, options: PushRelationsOptions = {}): PlanNode {
  const { plan } = compile(schema, shared, options)
  if (plan === null) throw new Error('expected a plan')
  return plan
}

/** The pointers of the plan, or null when the schema has no reachable annotation. */
export function pointers (schema: unknown, shared: Shared = {}, options: PushRelationsOptions = {}): string[] | null {
  const { plan } = compile(schema, shared, options)
  return plan === null ? null : planPointers(plan)
}

/** The paths collected from `payload` along the plan of `schema`. */
export function links (schema: unknown, payload: unknown, shared: Shared = {}, options: PushRelationsOptions = {}): string[] {
  return collect(planOf(schema, shared, options), payload, options).paths
}

/** The link set filled from `payload` along `plan`. */
export function collect (plan: PlanNode, payload: unknown, options: PushRelationsOptions = {}): LinkSet {
  const resolved = resolveOptions(options)
  const set = new LinkSet(resolved, fakeRequest)
  collectLinks(plan, payload, set, resolved.iriKey)
  return set
}

/** Compiles through compileRoute, as the plugin does, so that errors are the real ones; null when it compiles. */
export function routeError (schema: unknown, options: PushRelationsOptions = {}, shared: Shared = {}): unknown {
  try {
    compileRoute({ 200: schema }, stub(shared).getSchema, resolveOptions(options), 'GET /books/:id')
  } catch (error) {
    return error
  }
  return null
}

/** The startup error `routeError` gives for `problem` at `pointer`. */
export function invalid (pointer: string, problem: string): { code: string, message: string } {
  return {
    code: 'FST_PUSH_RELATIONS_INVALID_ANNOTATION',
    message: `fastify-push-relations: invalid x-push annotation in GET /books/:id, response 200, at JSON pointer "${pointer}": ${problem}`
  }
}
