import t from 'tap'
import * as api from '../lib/index.js'

t.test('the public API, by name', async (t) => {
  t.same(Object.keys(api).sort(), [
    'FST_PUSH_RELATIONS_ALREADY_REGISTERED',
    'FST_PUSH_RELATIONS_INVALID_ANNOTATION',
    'FST_PUSH_RELATIONS_INVALID_OPTION',
    'KEYWORD',
    'Push',
    'ajvPlugin',
    'default',
    'fastifyPushRelations',
    'pushRelations'
  ])
  t.equal(api.default, api.pushRelations)
  t.equal(api.fastifyPushRelations, api.pushRelations, 'the @fastify convention: the plugin under its camel-case name')
  t.equal(typeof api.Push, 'function')
  t.equal(typeof api.ajvPlugin, 'function')
  t.equal(api.KEYWORD, 'x-push')
  t.equal(new api.FST_PUSH_RELATIONS_INVALID_OPTION('maxLinks', 'must be an integer >= 1, received 0').message,
    'fastify-push-relations: option "maxLinks" must be an integer >= 1, received 0')
  t.equal(new api.FST_PUSH_RELATIONS_INVALID_ANNOTATION('GET /x', '200', '/a', 'a boolean cannot hold a link').code,
    'FST_PUSH_RELATIONS_INVALID_ANNOTATION')
})
