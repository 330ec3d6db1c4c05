// Unit tests of lib/options.ts: validation of the plugin options at registration, plus checks
// through Fastify that a bad option rejects `register` and `ready()`.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import pushRelations from '../lib/index.js'
import { defaults, LOWERCASE_TOKEN, resolveOptions, type PushRelationsOptions, type ResolvedOptions } from '../lib/options.js'

const CODE = 'FST_PUSH_RELATIONS_INVALID_OPTION'
/** Every option name, in the order the unknown-option error lists them. */
const KNOWN = 'rel, as, crossorigin, nopush, maxLinks, maxLinkBytes, iriKey, push, pushDepth, maxPushes, pushTimeout, pushHeaders, earlyHints, vulcain, origins, cacheTags'

/** The options of the core feature (the "Options" section), with their defaults. */
const CORE_DEFAULTS = {
  rel: 'preload',
  as: 'fetch',
  crossorigin: false,
  nopush: false,
  maxLinks: 32,
  maxLinkBytes: 2048,
  iriKey: '@id',
  origins: new Set<string>()
}
type CoreKey = keyof typeof CORE_DEFAULTS
const CORE_KEYS = Object.keys(CORE_DEFAULTS) as CoreKey[]

/** The core options of resolved options (other features add their own). */
function core (options: ResolvedOptions): Record<CoreKey, unknown> {
  return Object.fromEntries(CORE_KEYS.map((key) => [key, options[key]])) as Record<CoreKey, unknown>
}

/** Calls resolveOptions with a value of any type, as JavaScript users (or bad casts) can. */
function resolve (options: unknown): ResolvedOptions {
  return resolveOptions(options as PushRelationsOptions)
}

/** The error resolveOptions throws for `options`, or null when it accepts them. */
function errorOf (options: unknown): (Error & { code?: string, statusCode?: number }) | null {
  try {
    resolve(options)
    return null
  } catch (error) {
    return error as Error & { code?: string }
  }
}

function escapeRegExp (text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')
}

/** Asserts that `options` are rejected with the plugin's code and exactly `message`. */
function rejects (t: Test, options: unknown, message: string | RegExp, label: string): void {
  const error = errorOf(options)
  const found = error === null ? null : { code: error.code, message: error.message }
  if (typeof message === 'string') {
    t.same(found, { code: CODE, message: `fastify-push-relations: option ${message}` }, label)
  } else {
    t.same(found === null ? null : { code: found.code, matches: message.test(found.message ?? '') ? true : found.message },
      { code: CODE, matches: true }, label)
  }
}

t.test('defaults', async (t) => {
  const { origins: _, ...plain } = CORE_DEFAULTS
  t.same(Object.fromEntries(Object.keys(plain).map((key) => [key, defaults[key as keyof typeof defaults]])), plain,
    'the documented defaults')
  t.same(core(resolveOptions()), CORE_DEFAULTS, 'no options at all')
  t.same(core(resolveOptions({})), CORE_DEFAULTS, 'an empty object')
  t.same(core(resolve(undefined)), CORE_DEFAULTS, 'undefined')
  t.same(resolveOptions({}), resolveOptions(), 'an empty object is no options')
  t.same(Object.keys(resolveOptions()).sort(), [...Object.keys(defaults), 'origins', 'cacheTags', 'maxCandidates'].sort(), 'one resolved value per known option, and the derived candidate limit')
  t.equal(resolveOptions().maxCandidates, 1024, 'at least 1024 values looked at')
  t.equal(resolveOptions({ maxLinks: 100 }).maxCandidates, 3200, '32 per link past that')
  t.equal(resolveOptions().origins.size, 0, 'no extra origin by default')
  t.same(resolve(Object.fromEntries([...Object.keys(defaults), 'origins'].map((key) => [key, undefined]))), resolveOptions(),
    'options set to undefined take their default')
})

t.test('the error', async (t) => {
  const error = errorOf({ maxLinks: 0 })
  t.ok(error instanceof TypeError, 'is a TypeError')
  t.equal(error?.name, 'FastifyError', 'made with @fastify/error')
  t.equal(error?.code, CODE, 'has the documented code')
  t.equal(error?.statusCode, 500, 'and a status code')
  t.equal(error?.message, 'fastify-push-relations: option "maxLinks" must be an integer >= 1, received 0', 'names the option and the value')
})

t.test('options that are not an object', async (t) => {
  rejects(t, null, '"options" must be an object, received null', 'null')
  rejects(t, 'preload', '"options" must be an object, received "preload"', 'a string')
  rejects(t, 1, '"options" must be an object, received 1', 'a number')
  rejects(t, true, '"options" must be an object, received true', 'a boolean')
  rejects(t, [], '"options" must be an object, received an array', 'an array')
  rejects(t, ['x'], '"options" must be an object, received an array', 'an array with items, not an option "0"')
  rejects(t, 1n, '"options" must be an object, received 1n (a bigint)', 'a bigint')
  rejects(t, Symbol('s'), '"options" must be an object, received Symbol(s)', 'a symbol')
})

t.test('unknown options are rejected', async (t) => {
  rejects(t, { maxlinks: 5 }, `"maxlinks" is not a known option (known: ${KNOWN})`, 'a typo (option names are case-sensitive)')
  rejects(t, { origin: 'https://a.example' }, `"origin" is not a known option (known: ${KNOWN})`, 'singular origin')
  rejects(t, { hints: true }, `"hints" is not a known option (known: ${KNOWN})`, 'an option of another plugin')
  rejects(t, { foo: 1, maxLinks: 0 }, `"foo" is not a known option (known: ${KNOWN})`, 'reported before invalid values')
  rejects(t, { 'maxLinks ': 1 }, `"maxLinks " is not a known option (known: ${KNOWN})`, 'a trailing space')
  t.same([...KNOWN.split(', '), 'maxCandidates'].sort(), Object.keys(resolveOptions()).sort(), 'the list names every option (maxCandidates is derived)')
  t.same(resolve({ [Symbol('x')]: 1 }), resolveOptions(), 'symbol keys are not options')
})

t.test("Fastify's own register options are accepted", async (t) => {
  const none = resolveOptions()
  t.same(resolve({ prefix: '/api' }), none, 'prefix')
  t.same(resolve({ logLevel: 'debug' }), none, 'logLevel')
  t.same(resolve({ logSerializers: { req: () => ({}) } }), none, 'logSerializers')
  t.same(resolve({ prefix: '/api', logLevel: 'warn', logSerializers: {}, maxLinks: 4 }), { ...none, maxLinks: 4 },
    'alongside the plugin options')
})

t.test('rel and as: lower-case tokens', async (t) => {
  for (const value of ['preload', 'prefetch', 'modulepreload', 'x.y-z1', 'a']) {
    t.equal(resolveOptions({ rel: value }).rel, value, `rel ${value}`)
    t.equal(resolveOptions({ as: value }).as, value, `as ${value}`)
  }
  const bad: [unknown, string][] = [
    ['Preload', '"Preload"'],
    ['PRELOAD', '"PRELOAD"'],
    ['', '""'],
    ['"preload"', '"\\"preload\\""'],
    ['pre load', '"pre load"'],
    ['preload;', '"preload;"'],
    ['1preload', '"1preload"'],
    ['-preload', '"-preload"'],
    ['preload\r\nX-Evil: 1', '"preload\\r\\nX-Evil: 1"'],
    [1, '1'],
    [true, 'true'],
    [null, 'null'],
    [{}, 'an object'],
    [['preload'], 'an array']
  ]
  for (const [value, received] of bad) {
    rejects(t, { rel: value }, `"rel" must be a lower-case token such as "preload", received ${received}`, `rel ${received}`)
    rejects(t, { as: value }, `"as" must be a lower-case token such as "fetch", received ${received}`, `as ${received}`)
  }
  rejects(t, { rel: 1n }, '"rel" must be a lower-case token such as "preload", received 1n (a bigint)', 'rel 1n')
  t.equal(LOWERCASE_TOKEN.test('preload'), true, 'LOWERCASE_TOKEN accepts preload')
  t.equal(LOWERCASE_TOKEN.test('Preload'), false, 'LOWERCASE_TOKEN rejects upper case')
})

t.test('crossorigin', async (t) => {
  t.equal(resolveOptions({ crossorigin: 'anonymous' }).crossorigin, 'anonymous', 'anonymous')
  t.equal(resolveOptions({ crossorigin: 'use-credentials' }).crossorigin, 'use-credentials', 'use-credentials')
  t.equal(resolveOptions({ crossorigin: false }).crossorigin, false, 'false')
  const bad: [unknown, string][] = [[true, 'true'], ['ANONYMOUS', '"ANONYMOUS"'], ['', '""'], ['credentials', '"credentials"'],
    [null, 'null'], [0, '0'], [{}, 'an object']]
  for (const [value, received] of bad) {
    rejects(t, { crossorigin: value }, `"crossorigin" must be "anonymous", "use-credentials" or false, received ${received}`,
      `crossorigin ${received}`)
  }
})

t.test('nopush', async (t) => {
  t.equal(resolveOptions({ nopush: true }).nopush, true, 'true')
  t.equal(resolveOptions({ nopush: false }).nopush, false, 'false')
  const bad: [unknown, string][] = [['true', '"true"'], [1, '1'], [0, '0'], [null, 'null'], [[], 'an array']]
  for (const [value, received] of bad) {
    rejects(t, { nopush: value }, `"nopush" must be a boolean, received ${received}`, `nopush ${received}`)
  }
})

t.test('maxLinks and maxLinkBytes: integers >= 1', async (t) => {
  for (const name of ['maxLinks', 'maxLinkBytes'] as const) {
    for (const value of [1, 2, 32, 4096, Number.MAX_SAFE_INTEGER]) {
      t.equal(resolveOptions({ [name]: value })[name], value, `${name} ${value}`)
    }
    const bad: [unknown, string][] = [
      [0, '0'],
      [-1, '-1'],
      [1.5, '1.5'],
      [0.5, '0.5'],
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [2 ** 53, '9007199254740992'],
      ['32', '"32"'],
      [null, 'null'],
      [true, 'true'],
      [{}, 'an object']
    ]
    for (const [value, received] of bad) {
      rejects(t, { [name]: value }, `"${name}" must be an integer >= 1, received ${received}`, `${name} ${received}`)
    }
    rejects(t, { [name]: 32n }, `"${name}" must be an integer >= 1, received 32n (a bigint)`, `${name}: a bigint is rejected`)
    rejects(t, { [name]: -1n }, `"${name}" must be an integer >= 1, received -1n (a bigint)`, `${name}: a negative bigint`)
  }
})

t.test('iriKey', async (t) => {
  for (const value of ['@id', 'id', 'href', '_links', ' ', '__proto__']) {
    t.equal(resolveOptions({ iriKey: value }).iriKey, value, `iriKey ${JSON.stringify(value)}`)
  }
  const bad: [unknown, string][] = [['', '""'], [1, '1'], [null, 'null'], [false, 'false'], [['@id'], 'an array']]
  for (const [value, received] of bad) {
    rejects(t, { iriKey: value }, `"iriKey" must be a non-empty string, received ${received}`, `iriKey ${received}`)
  }
})

t.test('origins: normalized', async (t) => {
  const normalized = (list: string[]): string[] => [...resolveOptions({ origins: list }).origins]
  t.same(normalized([]), [], 'an empty list')
  t.same(normalized(['https://cdn.example.com']), ['https://cdn.example.com'], 'an origin')
  t.same(normalized(['https://cdn.example.com/']), ['https://cdn.example.com'], 'trailing slash')
  t.same(normalized(['https://CDN.Example.COM']), ['https://cdn.example.com'], 'upper-case host')
  t.same(normalized(['HTTPS://cdn.example.com']), ['https://cdn.example.com'], 'upper-case scheme')
  t.same(normalized(['https://cdn.example.com:443']), ['https://cdn.example.com'], 'default port of https')
  t.same(normalized(['http://cdn.example.com:80/']), ['http://cdn.example.com'], 'default port of http')
  t.same(normalized(['http://cdn.example.com:8080']), ['http://cdn.example.com:8080'], 'another port is kept')
  t.same(normalized(['https://cdn.example.com:80']), ['https://cdn.example.com:80'], "http's port on https is kept")
  t.same(normalized(['http://[::1]:3000']), ['http://[::1]:3000'], 'IPv6')
  t.same(normalized(['https://bücher.example']), ['https://xn--bcher-kva.example'], 'internationalized host, as punycode')
  t.same(normalized(['https://a.example', 'http://a.example', 'https://A.example/', 'https://a.example:443']),
    ['https://a.example', 'http://a.example'], 'duplicates after normalization are kept once, in order')
  t.type(resolveOptions({ origins: ['https://a.example'] }).origins, Set, 'a Set, for exact lookups')
})

t.test('origins: rejected', async (t) => {
  const listProblem = '"origins" must be an array of absolute http(s) origins'
  rejects(t, { origins: 'https://cdn.example.com' }, `${listProblem}, received "https://cdn.example.com"`, 'a string instead of a list')
  rejects(t, { origins: null }, `${listProblem}, received null`, 'null')
  rejects(t, { origins: {} }, `${listProblem}, received an object`, 'an object')
  rejects(t, { origins: new Set(['https://a.example']) }, `${listProblem}, received an object`, 'a Set')

  const itemProblem = '"origins" must only hold origins such as "https://api.example.com" (no path, query or credentials)'
  const bad: [unknown, string][] = [
    ['https://cdn.example.com/path', 'a path'],
    ['https://cdn.example.com/path/', 'a path with a trailing slash'],
    ['https://cdn.example.com/?x=1', 'a query'],
    ['https://cdn.example.com#top', 'a hash'],
    ['https://user:secret@cdn.example.com', 'credentials'],
    ['https://user@cdn.example.com', 'a user name'],
    ['https://:secret@cdn.example.com', 'a password'],
    ['ftp://cdn.example.com', 'ftp'],
    ['ws://cdn.example.com', 'ws'],
    ['file:///', 'file'],
    ['javascript:alert(1)', 'javascript'],
    ['blob:https://cdn.example.com/1', 'blob'],
    ['cdn.example.com', 'no scheme'],
    ['//cdn.example.com', 'scheme-relative'],
    ['/relative', 'a path only'],
    ['', 'the empty string'],
    ['https://', 'no host'],
    ['https://exa mple.com', 'an invalid host']
  ]
  for (const [item, why] of bad) {
    rejects(t, { origins: ['https://ok.example', item] }, `${itemProblem}, received ${JSON.stringify(item)}`, `${why} is rejected`)
  }
  const wrongTypes: [unknown, string][] = [[1, '1'], [null, 'null'], [undefined, 'undefined'], [{}, 'an object'], [['https://a.example'], 'an array'],
    [new URL('https://a.example'), 'an object']]
  for (const [item, received] of wrongTypes) {
    rejects(t, { origins: [item] }, `${itemProblem}, received ${received}`, `an item of type ${received} is rejected`)
  }
})

t.test('push and Early Hints options', async (t) => {
  // Options of the push / Early Hints feature, added to lib/options.ts while these tests were written.
  const named = (name: string, received: string): RegExp =>
    new RegExp(`^fastify-push-relations: option "${name}" .+, received ${escapeRegExp(received)}$`)

  const none = resolveOptions()
  t.same({ push: none.push, pushDepth: none.pushDepth, maxPushes: none.maxPushes, pushTimeout: none.pushTimeout, pushHeaders: none.pushHeaders, earlyHints: none.earlyHints },
    { push: false, pushDepth: 1, maxPushes: 10, pushTimeout: 5000, pushHeaders: ['accept', 'accept-encoding', 'accept-language', 'authorization', 'cookie', 'user-agent'], earlyHints: false },
    'defaults')

  for (const name of ['push', 'earlyHints'] as const) {
    t.equal(resolveOptions({ [name]: true })[name], true, `${name} true`)
    t.equal(resolveOptions({ [name]: false })[name], false, `${name} false`)
    rejects(t, { [name]: 'true' }, `"${name}" must be a boolean, received "true"`, `${name} "true"`)
    rejects(t, { [name]: 1 }, `"${name}" must be a boolean, received 1`, `${name} 1`)
  }

  for (const name of ['pushDepth', 'maxPushes'] as const) {
    t.equal(resolveOptions({ [name]: 1 })[name], 1, `${name} 1`)
    t.equal(resolveOptions({ [name]: 250 })[name], 250, `${name} 250`)
    rejects(t, { [name]: 0 }, `"${name}" must be an integer >= 1, received 0`, `${name} 0`)
    rejects(t, { [name]: 1.5 }, `"${name}" must be an integer >= 1, received 1.5`, `${name} 1.5`)
    rejects(t, { [name]: '3' }, `"${name}" must be an integer >= 1, received "3"`, `${name} "3"`)
  }
  t.equal(resolveOptions({ pushTimeout: 1 }).pushTimeout, 1)
  t.equal(resolveOptions({ pushTimeout: 2_147_483_647 }).pushTimeout, 2_147_483_647, 'the longest delay a timer honors')
  rejects(t, { pushTimeout: 2_147_483_648 }, '"pushTimeout" must be an integer from 1 to 2147483647, received 2147483648', 'pushTimeout: a timer would fire at once')
  rejects(t, { pushTimeout: 0 }, '"pushTimeout" must be an integer from 1 to 2147483647, received 0', 'pushTimeout 0')

  t.same(resolveOptions({ pushHeaders: [] }).pushHeaders, [], 'pushHeaders: none')
  t.same(resolveOptions({ pushHeaders: ['Accept', 'X-Tenant-ID', 'cookie'] }).pushHeaders, ['accept', 'x-tenant-id', 'cookie'],
    'pushHeaders: lower-cased, in order')
  rejects(t, { pushHeaders: 'accept' }, named('pushHeaders', '"accept"'), 'pushHeaders: a string instead of a list')
  rejects(t, { pushHeaders: null }, named('pushHeaders', 'null'), 'pushHeaders: null')
  for (const header of ['connection', 'Host', 'keep-alive', 'proxy-connection', 'TE', 'transfer-encoding', 'upgrade', 'Content-Length']) {
    rejects(t, { pushHeaders: ['accept', header] }, named('pushHeaders', JSON.stringify(header)), `pushHeaders: ${header} cannot be forwarded`)
  }
  for (const header of ['', 'x header', 'x:y', 'x\r\ny', 'é', '(x)']) {
    rejects(t, { pushHeaders: [header] }, named('pushHeaders', JSON.stringify(header)), `pushHeaders: ${JSON.stringify(header)} is not a header name`)
  }
  rejects(t, { pushHeaders: [1] }, named('pushHeaders', '1'), 'pushHeaders: a number')
  rejects(t, { pushHeaders: [null] }, named('pushHeaders', 'null'), 'pushHeaders: null item')
})

t.test('through Fastify', async (t) => {
  // lib/plugin.ts passes the validation error to done(error): register() and ready() reject
  // (a synchronous throw would escape avvio as an uncaught exception and fail this test file)
  const maxLinks0 = 'fastify-push-relations: option "maxLinks" must be an integer >= 1, received 0'

  t.test('await app.register(...) rejects', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    // register() returns the instance, a thenable: t.rejects takes it through an async function
    await t.rejects(async () => { await app.register(pushRelations, { maxLinks: 0 }) }, { code: CODE, message: maxLinks0 })
  })

  t.test('app.register(...) then ready() rejects', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(pushRelations, { maxLinks: 0 })
    await t.rejects(async () => { await app.ready() }, { code: CODE, message: maxLinks0 })
  })

  t.test('an unknown option, inside an encapsulated context', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(async (child) => {
      await child.register(pushRelations, { maxlinks: 5 } as PushRelationsOptions)
    })
    await t.rejects(async () => { await app.ready() },
      { code: CODE, message: `fastify-push-relations: option "maxlinks" is not a known option (known: ${KNOWN})` })
  })

  t.test('valid options, with Fastify register options, start the app', async (t) => {
    const good = Fastify()
    t.teardown(() => good.close())
    good.register(pushRelations, { prefix: '/api', logLevel: 'info', maxLinks: 4, origins: ['https://cdn.example.com/'] })
    await t.resolves(async () => { await good.ready() })
  })
})
