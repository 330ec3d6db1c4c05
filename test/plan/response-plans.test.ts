// Which plan applies to a response: Fastify's lookup (exact status, `2xx`, `default`; in a
// content map the reply's media type, then `*/*`) resolved once at registration by compileRoute
// and buildRoutePlans, then read per response by planFor.
import t from 'tap'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import pushRelations from '../../lib/index.js'
import { compileRoute, type CompiledRoute } from '../../lib/compile/route-compiler.js'
import { planFor, type ResponsePlan, type RoutePlans } from '../../lib/plan/response-plans.js'
import { compileResponseSchema, planPointers } from '../../lib/compile/schema-compiler.js'
import { resolveOptions } from '../../lib/options.js'
import type { PlanNode } from '../../lib/plan/plan-node.js'
import { buildRoutePlans, hasPlans, isSuccessResponseKey } from '../../lib/compile/route-plans.js'

const options = resolveOptions()

function route (response: unknown, shared: Record<string, unknown> = {}): CompiledRoute {
  return compileRoute(response, (id) => Object.hasOwn(shared, id) ? shared[id] : undefined, options, 'GET /books/:id')
}

/** A reply whose Content-Type is `contentType`. */
function reply (contentType?: unknown): { getHeader (name: string): unknown } {
  return { getHeader: (name) => name === 'content-type' ? contentType : undefined }
}

/** The pointers of the plan used for `status` and `contentType`, or null without plan. */
function used (plans: RoutePlans, status: number, contentType?: unknown): string[] | null {
  const plan = planFor(plans, status, reply(contentType))
  return plan === null ? null : planPointers(plan)
}

function planOf (schema: unknown): PlanNode {
  const { plan } = compileResponseSchema(schema, () => undefined, options, { route: 'GET /x', response: '200' }, () => new Error('unexpected'))
  if (plan === null) throw new Error('expected a plan')
  return plan
}

const schemaWith = (field: string): ReturnType<typeof Type.Object> => Type.Object({ [field]: Type.String({ 'x-push': true }) })
const Plain = Type.Object({ title: Type.String() })

t.test('isSuccessResponseKey: the lower-cased keys that can apply to a 2xx response', async (t) => {
  for (const key of ['200', '201', '299', '2xx', 'default']) t.equal(isSuccessResponseKey(key), true, key)
  for (const key of ['2XX', 'Default', '199', '300', '3xx', '404', '4xx', '5xx', '1xx', '20', '2000', '2x', '2xxx', 'x200', '']) {
    t.equal(isSuccessResponseKey(key), false, key)
  }
})

t.test('buildRoutePlans: one plan per status from 200 to 299', async (t) => {
  const exact = planOf(schemaWith('exact'))
  const range = planOf(schemaWith('range'))
  const fallback = planOf(schemaWith('fallback'))

  t.test('exact status, then 2xx, then default', async (t) => {
    const plans = buildRoutePlans(new Map<string, ResponsePlan>([['default', fallback], ['2xx', range], ['201', exact]]))
    t.equal(plans.length, 100)
    t.equal(plans[0], range)
    t.equal(plans[1], exact)
    t.equal(plans[99], range)
  })

  t.test('default alone covers every 2xx status', async (t) => {
    const plans = buildRoutePlans(new Map<string, ResponsePlan>([['default', fallback]]))
    t.ok(plans.every((plan) => plan === fallback))
  })

  t.test('a key without relations still shadows the later ones', async (t) => {
    const plans = buildRoutePlans(new Map<string, ResponsePlan>([['204', null], ['2xx', null], ['default', fallback]]))
    t.ok(plans.every((plan) => plan === null))
    const partial = buildRoutePlans(new Map<string, ResponsePlan>([['204', null], ['default', fallback]]))
    t.equal(partial[4], null)
    t.equal(partial[0], fallback)
  })

  t.test('nothing compiled: no plans', async (t) => {
    const plans = buildRoutePlans(new Map())
    t.equal(plans.length, 100)
    t.ok(plans.every((plan) => plan === null))
    t.equal(hasPlans(plans), false)
  })
})

t.test('compileRoute: response keys', async (t) => {
  t.test('exact status vs 2xx vs default', async (t) => {
    const { plans, preloads, unresolved } = route({ 200: schemaWith('a'), '2xx': schemaWith('b'), default: schemaWith('c'), 201: Plain })
    t.same(used(plans, 200), ['/a'])
    t.equal(used(plans, 201), null, '201 has a schema without relations: it shadows 2xx')
    t.same(used(plans, 204), ['/b'])
    t.same(used(plans, 299), ['/b'])
    t.equal(used(plans, 199), null)
    t.equal(used(plans, 300), null)
    t.equal(used(plans, 404), null)
    t.equal(hasPlans(plans), true)
    t.same(preloads, [
      { status: '200', pointers: ['/a'] },
      { status: '2xx', pointers: ['/b'] },
      { status: 'default', pointers: ['/c'] }
    ])
    t.same(unresolved, [])
  })

  t.test('default applies when nothing more precise is declared', async (t) => {
    const { plans } = route({ default: schemaWith('c'), 404: schemaWith('x') })
    t.same(used(plans, 200), ['/c'])
    t.same(used(plans, 226), ['/c'])
  })

  t.test('upper-case 2XX is read as Fastify reads it', async (t) => {
    const { plans, preloads } = route({ '2XX': schemaWith('b'), DEFAULT: schemaWith('c') })
    t.same(used(plans, 250), ['/b'])
    t.same(preloads, [{ status: '2xx', pointers: ['/b'] }, { status: 'default', pointers: ['/c'] }])
  })

  t.test('non-2xx keys are ignored, even with mistakes in them', async (t) => {
    const bad = Type.Object({ ok: Type.Boolean({ 'x-push': true }) })
    const compiled = route({ 404: schemaWith('a'), '4xx': bad, 500: bad, '1xx': bad, 301: bad, '3xx': bad })
    t.equal(hasPlans(compiled.plans), false)
    t.same(compiled.preloads, [])
    t.same(compiled.unresolved, [])
  })

  t.test('a route without relations', async (t) => {
    const compiled = route({ 200: Plain, default: { type: 'string' } })
    t.equal(hasPlans(compiled.plans), false)
    t.same(compiled.preloads, [])
  })

  t.test('a response that is not an object map', async (t) => {
    for (const response of [undefined, null, 'x', [schemaWith('a')]]) {
      const compiled = route(response)
      t.equal(compiled.plans.length, 100)
      t.equal(hasPlans(compiled.plans), false)
      t.same(compiled.preloads, [])
      t.same(compiled.unresolved, [])
    }
  })

  t.test('unresolved $refs of every response, once each', async (t) => {
    const compiled = route({
      200: Type.Object({ a: Type.Ref('Later'), b: Type.Ref('Other') }),
      201: { content: { 'application/json': { schema: Type.Ref('Later') } } },
      '2xx': Type.Ref('Author')
    }, { Author: Type.Object({ '@id': Type.String(), avatar: Type.String({ 'x-push': true }) }) })
    t.same(compiled.unresolved, ['Later', 'Other'])
    t.same(compiled.preloads, [{ status: '2xx', pointers: ['/avatar'] }])
    t.equal(hasPlans(compiled.plans), true)
  })
})

t.test('compileRoute: content maps', async (t) => {
  t.test('by media type, then */*', async (t) => {
    const { plans, preloads } = route({
      200: {
        content: {
          'application/json': { schema: schemaWith('json') },
          'application/ld+json': { schema: schemaWith('ld') },
          'text/csv': { schema: Plain },
          '*/*': { schema: schemaWith('any') }
        }
      }
    })
    t.same(used(plans, 200, 'application/json'), ['/json'])
    t.same(used(plans, 200, 'application/json; charset=utf-8'), ['/json'], 'parameters are ignored')
    t.same(used(plans, 200, 'Application/LD+JSON ; Charset=UTF-8'), ['/ld'], 'the media type is compared in lower case, trimmed')
    t.same(used(plans, 200, ' application/json '), ['/json'])
    t.equal(used(plans, 200, 'text/csv'), null, 'an exact media type without relations is not replaced by */*')
    t.same(used(plans, 200, 'text/html'), ['/any'])
    t.same(used(plans, 200), ['/any'], 'no Content-Type: */*')
    t.same(used(plans, 200, ['application/json']), ['/any'], 'a Content-Type that is not a string: */*')
    t.equal(used(plans, 201), null)
    t.equal(hasPlans(plans), true)
    t.same(preloads, [
      { status: '200', mediaType: 'application/json', pointers: ['/json'] },
      { status: '200', mediaType: 'application/ld+json', pointers: ['/ld'] },
      { status: '200', mediaType: '*/*', pointers: ['/any'] }
    ])
  })

  t.test('without */*, another media type gets no links', async (t) => {
    const { plans } = route({ '2xx': { content: { 'application/json': { schema: schemaWith('json') } } }, default: schemaWith('d') })
    t.same(used(plans, 200, 'application/json'), ['/json'])
    t.equal(used(plans, 200, 'text/html'), null, 'the content map of 2xx shadows default')
  })

  t.test('media type keys are compared as declared, like Fastify does', async (t) => {
    const { plans } = route({ 200: { content: { 'Application/JSON': { schema: schemaWith('upper') } } } })
    t.equal(used(plans, 200, 'application/json'), null)
  })

  t.test('content maps with only */* relations, or none', async (t) => {
    const onlyAny = route({ 200: { content: { 'application/json': { schema: Plain }, '*/*': { schema: schemaWith('any') } } } })
    t.equal(hasPlans(onlyAny.plans), true)
    const onlyExact = route({ 200: { content: { 'text/csv': { schema: Plain }, 'application/json': { schema: schemaWith('json') } } } })
    t.equal(hasPlans(onlyExact.plans), true)
    const none = route({ 200: { content: { 'application/json': { schema: Plain }, 'text/plain': 'not an entry', 'text/csv': { schema: true } } } })
    t.equal(hasPlans(none.plans), false)
    t.same(none.preloads, [])
    t.equal(used(none.plans, 200, 'text/plain'), null)
  })

  t.test('a content key that is not a map is a schema', async (t) => {
    const { plans } = route({ 200: Type.Object({ content: Type.String({ 'x-push': true }) }) })
    t.same(used(plans, 200), ['/content'])
  })
})

t.test('hasPlans', async (t) => {
  const node = planOf(schemaWith('a'))
  const plans = (plan: ResponsePlan): ResponsePlan[] => [null, null, plan]
  t.equal(hasPlans(plans(node)), true)
  t.equal(hasPlans(plans(null)), false)
  t.equal(hasPlans(plans({ byMediaType: new Map(), anyMediaType: node })), true)
  t.equal(hasPlans(plans({ byMediaType: new Map([['a/b', null], ['c/d', node]]), anyMediaType: null })), true)
  t.equal(hasPlans(plans({ byMediaType: new Map([['a/b', null]]), anyMediaType: null })), false)
})

t.test('planFor agrees with the schema Fastify serializes with', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(pushRelations)
  const payload = { a: '/a/1', b: '/b/1', c: '/c/1', json: '/json/1', any: '/any/1' }
  app.get('/status/:code', {
    schema: {
      response: {
        200: Type.Object({ a: Type.String({ 'x-push': true }) }),
        '2XX': Type.Object({ b: Type.String({ 'x-push': true }) }),
        201: Type.Object({ c: Type.String() }),
        default: Type.Object({ c: Type.String({ 'x-push': true }) })
      }
    }
  }, async (request, reply) => {
    reply.code(Number((request.params as { code: string }).code))
    return payload
  })
  app.get('/type', {
    schema: {
      response: {
        200: {
          content: {
            'application/json': { schema: Type.Object({ json: Type.String({ 'x-push': true }) }) },
            '*/*': { schema: Type.Object({ any: Type.String({ 'x-push': true }) }) }
          }
        }
      }
    }
  }, async (request, reply) => {
    reply.type((request.query as { type: string }).type)
    return payload
  })

  const cases: Array<[string, string, string | undefined]> = [
    ['/status/200', '{"a":"/a/1"}', '</a/1>; rel=preload; as=fetch'],
    ['/status/204', '', '</b/1>; rel=preload; as=fetch'],
    ['/status/206', '{"b":"/b/1"}', '</b/1>; rel=preload; as=fetch'],
    ['/status/201', '{"c":"/c/1"}', undefined],
    ['/status/404', '{"c":"/c/1"}', undefined],
    ['/type?type=application/json', '{"json":"/json/1"}', '</json/1>; rel=preload; as=fetch'],
    ['/type?type=Application/JSON;%20charset=utf-8', '{"json":"/json/1"}', '</json/1>; rel=preload; as=fetch'],
    ['/type?type=application/vnd.x%2Bjson', '{"any":"/any/1"}', '</any/1>; rel=preload; as=fetch']
  ]
  for (const [url, body, link] of cases) {
    const response = await app.inject(url)
    t.equal(response.body, body, `${url}: the body Fastify serialized`)
    t.equal(response.headers['link'], link, `${url}: the links of that schema`)
  }
})
