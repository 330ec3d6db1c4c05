// The Link header as a whole: the handler's own value, reply.preload() and the annotated links,
// in any order; the maxLinkBytes cap on every path; de-duplication by URI and rel.
import t from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import { Push } from '../../lib/index.js'
import { relOf, splitLinkValue } from '../../lib/deliver/link-header.js'
import { buildApp } from '../helpers/build.js'
import { random } from '../helpers/random.js'

const entry = (path: string): string => `<${path}>; rel=preload; as=fetch`
const Links = Type.Object({ a: Push(Type.Array(Type.String())) })

t.test('splitLinkValue: entries split on the commas outside <...> and quoted strings', async (t) => {
  t.same(splitLinkValue('</a>; rel=x, </b>; rel=y'), ['</a>; rel=x', '</b>; rel=y'], 'two entries')
  t.same(splitLinkValue('</a,b>; rel=x,</c>'), ['</a,b>; rel=x', '</c>'], 'a comma in the URI')
  t.same(splitLinkValue('</a>; title="x, </b>; rel=y", </c>'), ['</a>; title="x, </b>; rel=y"', '</c>'], 'a comma in a quoted string')
  t.same(splitLinkValue('</a>; title="x\\", y", </c>'), ['</a>; title="x\\", y"', '</c>'], 'an escaped quote')
  t.same(splitLinkValue('</a">; rel=x, </b>'), ['</a">; rel=x', '</b>'], 'a quote inside <...> opens no string')
  t.same(splitLinkValue(' , </a> ,, '), ['</a>'], 'empty entries and white space are left out')
  t.same(splitLinkValue(''), [], 'nothing')
})

t.test('relOf: the first rel parameter, unquoted', async (t) => {
  t.equal(relOf('</a>; rel=preload; as=fetch'), 'preload', 'a token')
  t.equal(relOf('</a>;rel="author preload"'), 'author preload', 'a quoted list')
  t.equal(relOf('</a>; REL = Preload'), 'Preload', 'any case of the name, white space around "="')
  t.equal(relOf('</a>; title="; rel=preload"; rel=next'), 'next', 'a ";" inside a quoted string is no separator')
  t.equal(relOf('</a>; rel="a\\"b"'), 'a"b', 'escapes in a quoted string')
  t.equal(relOf('</a>; rel=next; rel=preload'), 'next', 'only the first rel counts (RFC 8288 section 3.3)')
  t.equal(relOf('</a>; rel'), '', 'a rel without value')
  t.equal(relOf('</a>; as=fetch'), '', 'no rel')
  t.equal(relOf('</a;rel=x>; as=fetch'), '', 'a ";" in the URI starts no parameter')
  t.equal(relOf('</a>; rel="next\\'), 'next', 'an unterminated quoted string ending with a backslash')
})

t.test('reply.preload() then reply.header("link") keeps every preloaded entry, after the handler\'s value', async (t) => {
  const { app } = await buildApp()
  app.get('/then-set', async (_request, reply) => {
    reply.preload('/a', '/b')
    reply.header('link', '</docs>; rel=help')
    return { ok: true }
  })
  app.get('/set-preload-set', async (_request, reply) => {
    reply.header('link', '</one>; rel=help')
    reply.preload('/a')
    reply.header('link', '</two>; rel=help')
    reply.preload('/b')
    return { ok: true }
  })
  app.get('/then-append', async (_request, reply) => {
    reply.preload('/a')
    reply.header('link', [reply.getHeader('link') as string, '</docs>; rel=help'])
    return { ok: true }
  })
  app.get('/then-prepend', async (_request, reply) => {
    reply.header('link', '</one>; rel=help')
    reply.preload('/a')
    reply.header('link', `</two>; rel=help, ${reply.getHeader('link') as string}`)
    return { ok: true }
  })
  app.get('/longer-entry', async (_request, reply) => {
    reply.preload('/a')
    reply.header('link', `${entry('/a')}; crossorigin`)
    reply.preload('/b')
    return { ok: true }
  })
  app.get('/twice', async (_request, reply) => {
    reply.preload('/a')
    reply.header('link', `</x${entry('/a')}, ${reply.getHeader('link') as string}`)
    return { ok: true }
  })
  app.get('/then-remove', async (_request, reply) => {
    reply.header('link', '</one>; rel=help')
    reply.preload('/a')
    reply.removeHeader('link')
    return { ok: true }
  })
  app.get('/with-payload', { schema: { response: { 200: Links } } }, async (_request, reply) => {
    reply.preload('/a')
    reply.header('link', '</docs>; rel=help')
    return { a: ['/b', '/a'] }
  })
  t.equal((await app.inject('/then-set')).headers.link, `</docs>; rel=help, ${entry('/a')}, ${entry('/b')}`, 'set after preload')
  t.equal((await app.inject('/set-preload-set')).headers.link, `</two>; rel=help, ${entry('/a')}, ${entry('/b')}`,
    'the last value the handler set, then every entry')
  t.equal((await app.inject('/then-append')).headers.link, `</docs>; rel=help, ${entry('/a')}`,
    'a value built on getHeader("link"): the handler\'s part first, our entries once')
  t.equal((await app.inject('/then-prepend')).headers.link, `</two>; rel=help, </one>; rel=help, ${entry('/a')}`,
    'a value put before ours: the handler\'s parts first, in its order')
  t.equal((await app.inject('/longer-entry')).headers.link, `${entry('/a')}; crossorigin, ${entry('/b')}`,
    'a value that only starts like ours is the handler\'s own (it names /a with rel=preload: not repeated)')
  t.equal((await app.inject('/twice')).headers.link, `</x${entry('/a')}, ${entry('/a')}`,
    'our entries are found as whole entries only')
  t.equal((await app.inject('/then-remove')).headers.link, entry('/a'), 'the handler removed the header: ours stay')
  t.equal((await app.inject('/with-payload')).headers.link, `</docs>; rel=help, ${entry('/a')}, ${entry('/b')}`,
    'with annotated links after it')
})

t.test('after a non-2xx status too, what reply.preload() wrote follows the handler\'s later value; payload links stay out', async (t) => {
  const { app } = await buildApp()
  app.get('/gone', async (_request, reply) => {
    reply.preload('/a')
    reply.header('link', '</docs>; rel=help')
    return await reply.code(410).send({ ok: true })
  })
  app.get('/failing', { schema: { response: { 200: Type.Object({ a: Push(Type.Array(Type.String())), n: Type.Integer() }) } } },
    async (_request, reply) => {
      reply.preload('/a')
      reply.header('link', '</docs>; rel=help')
      return { a: ['/b'], n: 'not a number' }
    })
  app.get('/removed', { schema: { response: { 200: Type.Object({ a: Push(Type.Array(Type.String())), n: Type.Integer() }) } } },
    async (_request, reply) => {
      reply.preload('/a')
      reply.removeHeader('link')
      return { a: ['/b'], n: 'not a number' }
    })
  app.get('/nothing', async (_request, reply) => {
    reply.preload('javascript:alert(1)')
    reply.header('link', '</docs>; rel=help')
    return await reply.code(404).send({ ok: false })
  })
  t.equal((await app.inject('/gone')).headers.link, `</docs>; rel=help, ${entry('/a')}`, 'a 410')
  const failing = await app.inject('/failing')
  t.equal(failing.statusCode, 500)
  t.equal(failing.headers.link, `</docs>; rel=help, ${entry('/a')}`, 'a 500 from serialization: the payload\'s /b stays out')
  t.equal((await app.inject('/removed')).headers.link, entry('/a'), 'a 500 after the handler removed the header')
  t.equal((await app.inject('/nothing')).headers.link, '</docs>; rel=help', 'nothing preloaded: the handler\'s value as it is')
})

t.test('maxLinkBytes holds when the handler sets Link before reply.preload() and more links follow', async (t) => {
  // 27 bytes an entry: "</1>; rel=preload; as=fetch". With a handler value, two entries cost 2 + 27 + 2 + 27.
  const maxLinkBytes = 27 * 2 + 2
  const { app } = await buildApp({ maxLinkBytes })
  app.get('/', { schema: { response: { 200: Links } } }, async (_request, reply) => {
    reply.header('link', '</docs>; rel=help')
    reply.preload('/1')
    return { a: ['/2', '/3'] }
  })
  const link = (await app.inject('/')).headers.link as string
  t.equal(link, `</docs>; rel=help, ${entry('/1')}`, 'the second entry does not fit with the separator after the handler\'s value')
  t.ok(Buffer.byteLength(link) - Buffer.byteLength('</docs>; rel=help') <= maxLinkBytes)
})

t.test('entries are de-duplicated against the handler\'s value by URI and rel', async (t) => {
  const { app } = await buildApp()
  const cases: Array<[string, string[], string]> = [
    ['</authors/1>; rel=author', ['/authors/1'], `</authors/1>; rel=author, ${entry('/authors/1')}`],
    ['</authors/1>; rel="preload"', ['/authors/1'], '</authors/1>; rel="preload"'],
    ['</authors/1>; rel="author preload"', ['/authors/1'], '</authors/1>; rel="author preload"'],
    ['</authors/1>; REL=PRELOAD', ['/authors/1'], '</authors/1>; REL=PRELOAD'],
    ['</authors/1>;rel=preload;as=image', ['/authors/1'], '</authors/1>;rel=preload;as=image'],
    ['</authors/10>; rel=preload', ['/authors/1'], `</authors/10>; rel=preload, ${entry('/authors/1')}`],
    ['</x>; title="</authors/1>; rel=preload"', ['/authors/1'], `</x>; title="</authors/1>; rel=preload", ${entry('/authors/1')}`],
    ['</x>; title="a, </authors/1>; rel=preload"', ['/authors/1'], `</x>; title="a, </authors/1>; rel=preload", ${entry('/authors/1')}`],
    ['</authors/1>; rel=next; rel=preload', ['/authors/1'], `</authors/1>; rel=next; rel=preload, ${entry('/authors/1')}`],
    ['</a,b>; rel=preload, </c>; rel=preload', ['/a,b', '/c', '/d'], `</a,b>; rel=preload, </c>; rel=preload, ${entry('/d')}`],
    ['junk; rel=preload, </c>; rel=preload', ['/c', '/d'], `junk; rel=preload, </c>; rel=preload, ${entry('/d')}`],
    ['</authors/1; rel=preload', ['/authors/1'], `</authors/1; rel=preload, ${entry('/authors/1')}`],
    ['<https://api.example.com/authors/1>; rel=preload', ['/authors/1'],
      `<https://api.example.com/authors/1>; rel=preload, ${entry('/authors/1')}`]
  ]
  let index = 0
  for (const [existing, preloads] of cases) {
    app.get(`/${index++}`, async (_request, reply) => {
      reply.header('link', existing)
      reply.preload(...preloads)
      return { ok: true }
    })
  }
  index = 0
  for (const [existing, , expected] of cases) t.equal((await app.inject(`/${index++}`)).headers.link, expected, existing)
})

/** A handler step of the fuzz test. */
type Step =
  | { op: 'set' | 'append' | 'prepend', value: Named[] }
  | { op: 'remove' }
  | { op: 'preload', paths: string[] }

/** An entry of a handler's value, with what it names (the test's model; no parser). */
interface Named {
  text: string
  uri: string
  rels: string[]
}

interface Script {
  steps: Step[]
  onSend: Step[]
  annotated: string[]
}

/** True when `part` is `whole` with some elements left out, the rest in the same order. */
function isSubsequence (part: readonly string[], whole: readonly string[]): boolean {
  let at = 0
  for (const element of part) {
    at = whole.indexOf(element, at) + 1
    if (at === 0) return false
  }
  return true
}

function applyStep (reply: FastifyReply, step: Step): void {
  if (step.op === 'preload') {
    reply.preload(...step.paths)
  } else if (step.op === 'remove') {
    reply.removeHeader('link')
  } else {
    const value = step.value.map((named) => named.text).join(', ')
    const current = reply.getHeader('link') as string | string[] | undefined
    const currentText = current === undefined ? '' : Array.isArray(current) ? current.join(', ') : current
    if (step.op === 'set' || currentText === '') reply.header('link', value)
    else if (step.op === 'append') reply.header('link', [currentText, value])
    else reply.header('link', `${value}, ${currentText}`)
  }
}

t.test('fuzz: whatever the order of handler Link, reply.preload() and annotated links, the cap holds and no entry is lost', async (t) => {
  const seed = Number(process.env.LINK_FUZZ_SEED ?? 20261201)
  const next = random(seed)
  const int = (max: number): number => Math.floor(next() * max)
  const pathPool = Array.from({ length: 24 }, (_, i) => `/p/${i}${'x'.repeat(int(40))}`)
  const pick = (): string => pathPool[int(pathPool.length)] as string
  const namedValue = (): Named[] => {
    const value: Named[] = [{ text: `</h/${int(1000)}>; rel=help`, uri: '', rels: ['help'] }]
    for (let i = int(3); i > 0; i--) {
      const uri = pick()
      const rel = ['preload', 'author', 'PRELOAD', '"author preload"', '"next"'][int(5)] as string
      value.push({ text: `<${uri}>; rel=${rel}${int(2) === 0 ? '; as=fetch' : ''}`, uri, rels: rel.replaceAll('"', '').toLowerCase().split(' ') })
    }
    value[0] = { ...(value[0] as Named), uri: (value[0] as Named).text.slice(1, (value[0] as Named).text.indexOf('>')) }
    return value
  }
  const step = (): Step => {
    const kind = int(10)
    if (kind < 4) return { op: 'preload', paths: Array.from({ length: 1 + int(3) }, pick) }
    if (kind < 6) return { op: 'set', value: namedValue() }
    if (kind < 8) return { op: 'append', value: namedValue() }
    if (kind < 9) return { op: 'prepend', value: namedValue() }
    return { op: 'remove' }
  }

  const caps = [1, 27, 29, 56, 57, 58, 100, 150, 300, 100_000]
  let cases = 0
  let capped = 0
  for (const maxLinkBytes of caps) {
    const { app } = await buildApp({ maxLinkBytes, maxLinks: 1000 })
    const scripts: Script[] = []
    app.get('/:id', {
      schema: { response: { 200: Links } },
      onSend: (request, reply, payload, done) => {
        for (const s of (scripts[Number((request.params as { id: string }).id)] as Script).onSend) applyStep(reply, s)
        done(null, payload)
      }
    }, async (request, reply) => {
      const script = scripts[Number((request.params as { id: string }).id)] as Script
      for (const s of script.steps) applyStep(reply, s)
      return { a: script.annotated }
    })
    for (let run = 0; run < 60; run++) {
      const script: Script = {
        steps: Array.from({ length: int(6) }, step),
        onSend: int(4) === 0 ? [step()].filter((s) => s.op !== 'preload') : [],
        annotated: Array.from({ length: int(5) }, pick)
      }
      scripts.push(script)
      // The model: the handler's (and the onSend hook's) value, and the links in first-seen order.
      let foreign: Named[] = []
      const candidates: string[] = []
      const apply = (s: Step): void => {
        if (s.op === 'preload') candidates.push(...s.paths)
        else if (s.op === 'remove') foreign = []
        else if (s.op === 'set') foreign = s.value
        else if (s.op === 'append') foreign = [...foreign, ...s.value]
        else foreign = [...s.value, ...foreign]
      }
      for (const s of script.steps) apply(s)
      candidates.push(...script.annotated)
      for (const s of script.onSend) apply(s)

      const response = await app.inject(`/${run}`)
      const where = `seed ${seed}, maxLinkBytes ${maxLinkBytes}, run ${run}: ${JSON.stringify(script)}`
      const header = response.headers.link ?? ''
      // Several lines (the handler's array, when the plugin adds nothing) are one list.
      const link = Array.isArray(header) ? header.join(', ') : header
      const foreignText = foreign.map((named) => named.text).join(', ')
      const ours = link === foreignText ? '' : foreignText === '' ? link : link.slice(foreignText.length + 2)
      if (ours !== '' && typeof header !== 'string') t.fail(`one header line when the plugin adds entries (${where})`)
      if (foreignText !== '' && !link.startsWith(foreignText + (ours === '' ? '' : ', '))) {
        t.fail(`the handler's value comes first, as it is (${where}): ${link}`)
        continue
      }
      const added = Buffer.byteLength(link) - Buffer.byteLength(foreignText)
      if (added > maxLinkBytes) t.fail(`the plugin added ${added} bytes > ${maxLinkBytes} (${where})`)
      const named = new Set(foreign.flatMap((n) => n.rels.map((rel) => `${n.uri} ${rel}`)))
      const expected = [...new Set(candidates)].filter((path) => !named.has(`${path} preload`)).map(entry)
      const got = ours === '' ? [] : ours.split(', ')
      // What the plugin adds is part of what it should add, in order, or all of it when the cap allows.
      if (!isSubsequence(got, expected)) t.fail(`the entries, in first-seen order, none the handler names (${where}): ${JSON.stringify(got)}`)
      // The set counts every entry, also those the handler's value turns out to name.
      const fits = [...new Set(candidates)].reduce((bytes, path) => bytes + entry(path).length + 2, 0) <= maxLinkBytes
      if (fits) t.same(got, expected, `every entry when they fit (${where})`)
      else capped++
      cases++
    }
  }
  t.ok(cases >= 600 && capped > 100, `${cases} cases, ${capped} of them capped`)
})
