// Unit tests of lib/annotation/annotation.ts: reading one `x-push` value into a link rule at registration.
import t from 'tap'
import { KEYWORD, linkParams, parseAnnotation, sameRule } from '../../lib/annotation/annotation.js'
import { resolveOptions, type ResolvedOptions } from '../../lib/options.js'
import type { LinkRule } from '../../lib/plan/plan-node.js'

/** The plugin options, pinned to the defaults the annotation reads (the others do not matter here). */
const DEFAULTS: ResolvedOptions = { ...resolveOptions(), rel: 'preload', as: 'fetch', crossorigin: false, nopush: false }

/** Plugin options with a few values changed. */
function options (overrides: Partial<ResolvedOptions>): ResolvedOptions {
  return { ...DEFAULTS, ...overrides }
}

/** Parses an annotation that must be a rule, failing the test with the problem otherwise. */
function rule (value: unknown, with_: ResolvedOptions = DEFAULTS): LinkRule {
  const parsed = parseAnnotation(value, with_)
  if (parsed === null || typeof parsed === 'string') throw new Error(`${JSON.stringify(value)} should be a rule: ${parsed}`)
  return parsed
}

const AUTHORS_TEMPLATE = {
  source: '/authors/{id}',
  variables: ['id'],
  literals: ['/authors/', ''],
  parts: ['id'],
  pathParts: 1
}

t.test('KEYWORD', async (t) => {
  t.equal(KEYWORD, 'x-push', 'the keyword the plugin reads')
})

t.test('linkParams: unquoted, lower case, every crossorigin and nopush combination', async (t) => {
  t.equal(linkParams('preload', 'fetch', false, false), '; rel=preload; as=fetch', 'defaults')
  t.equal(linkParams('preload', 'fetch', false, true), '; rel=preload; as=fetch; nopush', 'nopush')
  t.equal(linkParams('preload', 'fetch', 'anonymous', false), '; rel=preload; as=fetch; crossorigin', 'anonymous is the bare attribute')
  t.equal(linkParams('preload', 'fetch', 'anonymous', true), '; rel=preload; as=fetch; crossorigin; nopush', 'anonymous and nopush')
  t.equal(linkParams('preload', 'fetch', 'use-credentials', false), '; rel=preload; as=fetch; crossorigin=use-credentials',
    'use-credentials')
  t.equal(linkParams('preload', 'fetch', 'use-credentials', true), '; rel=preload; as=fetch; crossorigin=use-credentials; nopush',
    'use-credentials and nopush')
  t.equal(linkParams('prefetch', 'image', false, false), '; rel=prefetch; as=image', 'rel and as are written as given')
})

t.test('parseAnnotation: false and true', async (t) => {
  t.equal(parseAnnotation(false, DEFAULTS), null, 'false means "not a relation"')
  t.same(parseAnnotation(true, DEFAULTS), { template: null, params: '; rel=preload; as=fetch', nopush: false },
    'true: the value itself, with the plugin defaults')
  t.same(parseAnnotation(true, options({ rel: 'prefetch', as: 'json', crossorigin: 'anonymous', nopush: true })),
    { template: null, params: '; rel=prefetch; as=json; crossorigin; nopush', nopush: true },
    'true takes every parameter from the plugin options')
  t.same(parseAnnotation(true, options({ crossorigin: 'use-credentials' })),
    { template: null, params: '; rel=preload; as=fetch; crossorigin=use-credentials', nopush: false },
    'crossorigin=use-credentials from the plugin options')
})

t.test('parseAnnotation: template strings', async (t) => {
  t.same(parseAnnotation('/authors/{id}', DEFAULTS), { template: AUTHORS_TEMPLATE, params: '; rel=preload; as=fetch', nopush: false },
    'a level 1 template')
  t.same(parseAnnotation('/authors/{id}', options({ nopush: true, crossorigin: 'anonymous' })),
    { template: AUTHORS_TEMPLATE, params: '; rel=preload; as=fetch; crossorigin; nopush', nopush: true },
    'a template string takes the parameters from the plugin options')
  t.same(rule('/shelves/{shelf}/books/{book}').template?.variables, ['shelf', 'book'], 'several variables')
  t.same(rule('{id}').template?.literals, ['', ''], 'a template that is only a variable')

  t.equal(parseAnnotation('/authors/{id', DEFAULTS), 'template "/authors/{id": unclosed "{" at offset 9', 'unclosed brace')
  t.equal(parseAnnotation('/authors/id}', DEFAULTS), 'template "/authors/id}": unexpected "}" at offset 11', 'stray brace')
  t.equal(parseAnnotation('/authors/{a-b}', DEFAULTS), 'template "/authors/{a-b}": "{a-b}" is not a valid variable name',
    'invalid variable name')
  t.equal(parseAnnotation('/authors{/id}', DEFAULTS),
    'template "/authors{/id}": "{/id}" needs RFC 6570 level 2 or more; only simple "{name}" expressions are supported',
    'level 3 expression')
  t.equal(parseAnnotation('/authors/1', DEFAULTS), 'template "/authors/1" has no variable; a constant link belongs in the handler',
    'a constant string is not a template')
  t.equal(parseAnnotation('', DEFAULTS), 'template "" has no variable; a constant link belongs in the handler', 'the empty string')
})

t.test('parseAnnotation: values of the wrong type', async (t) => {
  const wrong: [unknown, string][] = [
    [null, 'null'],
    [undefined, 'undefined'],
    [[], 'an array'],
    [['/authors/{id}'], 'an array'],
    [1, 'number'],
    [0, 'number'],
    [1n, 'bigint'],
    [Symbol('x-push'), 'symbol'],
    [() => true, 'function']
  ]
  for (const [value, received] of wrong) {
    t.equal(parseAnnotation(value, DEFAULTS), `must be true, a URI template string or an object, received ${received}`,
      `${received} is rejected`)
  }
})

t.test('parseAnnotation: object form, each override', async (t) => {
  t.same(parseAnnotation({}, DEFAULTS), { template: null, params: '; rel=preload; as=fetch', nopush: false }, '{} is like true')
  t.same(parseAnnotation({ template: undefined }, DEFAULTS), { template: null, params: '; rel=preload; as=fetch', nopush: false },
    'an undefined template is no template')
  t.same(parseAnnotation({ template: '/authors/{id}' }, DEFAULTS),
    { template: AUTHORS_TEMPLATE, params: '; rel=preload; as=fetch', nopush: false }, 'template')
  t.same(parseAnnotation({ rel: 'prefetch' }, DEFAULTS), { template: null, params: '; rel=prefetch; as=fetch', nopush: false }, 'rel')
  t.same(parseAnnotation({ as: 'image' }, DEFAULTS), { template: null, params: '; rel=preload; as=image', nopush: false }, 'as')
  t.same(parseAnnotation({ crossorigin: 'anonymous' }, DEFAULTS),
    { template: null, params: '; rel=preload; as=fetch; crossorigin', nopush: false }, 'crossorigin anonymous')
  t.same(parseAnnotation({ crossorigin: 'use-credentials' }, DEFAULTS),
    { template: null, params: '; rel=preload; as=fetch; crossorigin=use-credentials', nopush: false }, 'crossorigin use-credentials')
  t.same(parseAnnotation({ nopush: true }, DEFAULTS), { template: null, params: '; rel=preload; as=fetch; nopush', nopush: true },
    'nopush')

  const plugin = options({ rel: 'prefetch', as: 'json', crossorigin: 'use-credentials', nopush: true })
  t.same(parseAnnotation({}, plugin), { template: null, params: '; rel=prefetch; as=json; crossorigin=use-credentials; nopush', nopush: true },
    'missing properties take the plugin options')
  t.same(parseAnnotation({ crossorigin: false }, plugin), { template: null, params: '; rel=prefetch; as=json; nopush', nopush: true },
    'crossorigin: false turns the plugin option off for this field')
  t.same(parseAnnotation({ nopush: false }, plugin),
    { template: null, params: '; rel=prefetch; as=json; crossorigin=use-credentials', nopush: false },
    'nopush: false turns the plugin option off for this field')
  t.same(parseAnnotation({ rel: 'preload', as: 'fetch' }, plugin),
    { template: null, params: '; rel=preload; as=fetch; crossorigin=use-credentials; nopush', nopush: true },
    'rel and as override the plugin options')
  t.same(parseAnnotation({ template: '/authors/{id}', rel: 'prefetch', as: 'image', crossorigin: 'anonymous', nopush: true }, DEFAULTS),
    { template: AUTHORS_TEMPLATE, params: '; rel=prefetch; as=image; crossorigin; nopush', nopush: true }, 'every override at once')

  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { template: '/authors/{id}' })
  t.same(parseAnnotation(bare, DEFAULTS), { template: AUTHORS_TEMPLATE, params: '; rel=preload; as=fetch', nopush: false },
    'an object without prototype')
})

t.test('parseAnnotation: object form, every error sentence', async (t) => {
  const expected = '(expected template, rel, as, crossorigin, nopush)'
  t.equal(parseAnnotation({ href: '/a' }, DEFAULTS), `unknown property "href" ${expected}`, 'unknown property')
  t.equal(parseAnnotation({ template: '/a/{id}', Rel: 'preload' }, DEFAULTS), `unknown property "Rel" ${expected}`,
    'property names are case-sensitive')
  t.equal(parseAnnotation(JSON.parse('{"__proto__": {"rel": "x"}}'), DEFAULTS), `unknown property "__proto__" ${expected}`,
    'a JSON "__proto__" key is an unknown property')
  t.equal(parseAnnotation({ rel: 'Bad', unknown: 1 }, DEFAULTS), `unknown property "unknown" ${expected}`,
    'unknown properties are reported first')

  const rel = '"rel" must be a lower-case token such as "preload"'
  for (const value of ['Preload', 'PRELOAD', '', 'pre load', '"preload"', 'preload;', '1preload', 1, null, true, ['preload']]) {
    t.equal(parseAnnotation({ rel: value }, DEFAULTS), rel, `rel ${JSON.stringify(value)} is rejected`)
  }
  const as = '"as" must be a lower-case token such as "fetch"'
  for (const value of ['Fetch', '', 'fe tch', 'fetch,', 2, null, false]) {
    t.equal(parseAnnotation({ as: value }, DEFAULTS), as, `as ${JSON.stringify(value)} is rejected`)
  }
  const crossorigin = '"crossorigin" must be "anonymous", "use-credentials" or false'
  for (const value of [true, 'ANONYMOUS', 'Anonymous', '', 'credentials', null, 0]) {
    t.equal(parseAnnotation({ crossorigin: value }, DEFAULTS), crossorigin, `crossorigin ${JSON.stringify(value)} is rejected`)
  }
  const nopush = '"nopush" must be a boolean'
  for (const value of ['true', 1, 0, null, 'nopush']) {
    t.equal(parseAnnotation({ nopush: value }, DEFAULTS), nopush, `nopush ${JSON.stringify(value)} is rejected`)
  }
  const template = '"template" must be a string'
  for (const value of [1, null, true, false, {}, ['/a/{id}']]) {
    t.equal(parseAnnotation({ template: value }, DEFAULTS), template, `template ${JSON.stringify(value)} is rejected`)
  }
  t.equal(parseAnnotation({ template: '/authors/1' }, DEFAULTS),
    'template "/authors/1" has no variable; a constant link belongs in the handler', 'template without a variable')
  t.equal(parseAnnotation({ template: '/authors/{id' }, DEFAULTS), 'template "/authors/{id": unclosed "{" at offset 9',
    'malformed template')

  t.equal(parseAnnotation({ template: 1, nopush: 1, crossorigin: true, as: 'X', rel: 'Y' }, DEFAULTS), rel,
    'rel is checked first')
  t.equal(parseAnnotation({ template: 1, nopush: 1, crossorigin: true, as: 'X' }, DEFAULTS), as, 'then as')
  t.equal(parseAnnotation({ template: 1, nopush: 1, crossorigin: true }, DEFAULTS), crossorigin, 'then crossorigin')
  t.equal(parseAnnotation({ template: 1, nopush: 1 }, DEFAULTS), nopush, 'then nopush')
})

t.test('sameRule', async (t) => {
  t.equal(sameRule(rule(true), rule(true)), true, 'true and true')
  t.equal(sameRule(rule(true), rule({})), true, 'true and {} produce the same links')
  t.equal(sameRule(rule(true), rule({ rel: 'preload', as: 'fetch', crossorigin: false, nopush: false })), true,
    'true and the explicit defaults')
  t.equal(sameRule(rule('/authors/{id}'), rule({ template: '/authors/{id}' })), true, 'the same template in both forms')
  t.equal(sameRule(rule('/authors/{id}'), rule('/authors/{id}')), true, 'two parses of the same template')

  t.equal(sameRule(rule('/authors/{id}'), rule('/authors/{key}')), false, 'different templates')
  t.equal(sameRule(rule('/authors/{id}'), rule('/writers/{id}')), false, 'different literals')
  t.equal(sameRule(rule(true), rule('/authors/{id}')), false, 'no template and a template')
  t.equal(sameRule(rule('/authors/{id}'), rule(true)), false, 'a template and no template')
  t.equal(sameRule(rule(true), rule({ nopush: true })), false, 'nopush differs')
  t.equal(sameRule(rule(true), rule({ rel: 'prefetch' })), false, 'rel differs')
  t.equal(sameRule(rule(true), rule({ as: 'image' })), false, 'as differs')
  t.equal(sameRule(rule({ crossorigin: 'anonymous' }), rule({ crossorigin: 'use-credentials' })), false, 'crossorigin differs')
  t.equal(sameRule(rule({ template: '/authors/{id}', nopush: true }), rule('/authors/{id}')), false,
    'same template, different parameters')
  t.equal(sameRule(rule(true, options({ nopush: true })), rule(true)), false, 'the plugin options are part of the rule')
})
