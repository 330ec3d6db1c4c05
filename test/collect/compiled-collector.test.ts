// The collector generated per plan (lib/compiled-collector.ts) against the generic walk
// (collectLinks), which stays the reference: the same links in the same order, the same skips,
// caps, return value and tags, on many seeded random plans and payloads; then the cases that
// matter on their own: property names that are not identifiers, recursion, the depth cut.
import t from 'tap'
import type { FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { TagSink } from '../../lib/collect/tag-sink.js'
import { collectorOf, collectorSource, compileCollector, literal } from '../../lib/collect/compiled-collector.js'
import { collectLinks, MAX_DEPTH } from '../../lib/collect/link-collector.js'
import type { LinkSet } from '../../lib/links/link-set.js'
import { ResponseLinks } from '../../lib/deliver/response-links.js'
import { resolveOptions, type ResolvedOptions } from '../../lib/options.js'
import { compileRoute } from '../../lib/compile/route-compiler.js'
import { compileResponseSchema } from '../../lib/compile/schema-compiler.js'
import type { PlanNode } from '../../lib/plan/plan-node.js'
import { Push } from '../../lib/annotation/push.js'
import { random } from '../helpers/random.js'

const fakeRequest = { url: '/books/1', protocol: 'http', host: 'api.example.com' } as unknown as FastifyRequest

/** Records what the walk reports; `full` once `limit` references were added. */
class RecordingTags implements TagSink {
  readonly added: string[] = []
  incompleteCalls = 0
  constructor (private readonly limit: number) {}
  add (reference: string): void { this.added.push(reference) }
  incomplete (): void { this.incompleteCalls++ }
  get full (): boolean { return this.added.length >= this.limit }
}

function planOf (schema: unknown, options: ResolvedOptions): PlanNode | null {
  return compileResponseSchema(schema, () => undefined, options, { route: 'GET /x', response: '200' },
    (_site, pointer, problem) => new Error(`${pointer}: ${problem}`)).plan
}

interface Outcome {
  complete: boolean
  paths: string[]
  entries: string[]
  pushable: string[]
  skipped: number
  capped: string | null
  tags: string[] | null
}

type Walk = (plan: PlanNode, payload: unknown, links: LinkSet, iriKey: string, tags: TagSink | null) => boolean

const generic: Walk = collectLinks
const compiled: Walk = (plan, payload, links, iriKey, tags) => collectorOf(plan)(payload, links, iriKey, tags)

function outcome (walk: Walk, plan: PlanNode, payload: unknown, options: ResolvedOptions, tagLimit: number | null): Outcome {
  const response = new ResponseLinks(options, fakeRequest, null)
  const links = response.set
  const tags = tagLimit === null ? null : new RecordingTags(tagLimit)
  const complete = walk(plan, payload, links, options.iriKey, tags)
  return { complete, paths: links.paths, entries: links.entries, pushable: response.push === null ? [] : response.push.pushable, skipped: links.skipped, capped: links.capped, tags: tags === null ? null : tags.added }
}

// --- seeded random schemas and payloads ---

/** What the generator knows of a schema it made, to make payloads that fit it (or not quite). */
type Shape =
  | { kind: 'string' | 'integer' | 'any' | 'union' | 'recursive' }
  | { kind: 'object', properties: Array<[string, Shape]>, patterns: Array<[string, Shape]>, additional: Shape | null }
  | { kind: 'array', items: Shape | null, prefix: Shape[] }

const NAMES = ['a', 'b', 'href', 'id', '@id', 'x y', 'quo"te', 'back\\slash', '</script>', 'line\u2028sep', 'toJSON', 'constructor', '$' + '{x}', '\u00e9t\u00e9']
const EXTRA_NAMES = ['x1', 'x2', 'zz', 'a', '@id', 'p-q']
const REFERENCES = ['/a/1', '/a/2', '/a/1', '/b/x y', 'http://api.example.com/c', 'https://other.example/d', '', '12', 'javascript:alert(1)', '/a/%zz', 'rel/ative', '/c/3']

class Generator {
  readonly pick: <T>(list: readonly T[]) => T
  constructor (readonly next: () => number) {
    this.pick = (list) => list[Math.floor(next() * list.length)] as (typeof list)[number]
  }

  chance (p: number): boolean { return this.next() < p }

  /** A schema and its shape; `room` bounds the nesting. */
  schema (room: number, recursive: boolean): [Record<string, unknown>, Shape] {
    const roll = this.next()
    if (room <= 0 || roll < 0.3) return this.leaf(recursive)
    if (roll < 0.65) return this.object(room, recursive)
    return this.array(room, recursive)
  }

  private leaf (recursive: boolean): [Record<string, unknown>, Shape] {
    switch (Math.floor(this.next() * (recursive ? 8 : 7))) {
      case 0: return [{ type: 'string', ...this.chance(0.7) ? { 'x-push': this.pick([true, '/s/{v}', { rel: 'prefetch' }, { nopush: true, as: 'image' }]) } : {} }, { kind: 'string' }]
      case 1: return [{ type: 'integer', ...this.chance(0.7) ? { 'x-push': this.pick(['/n/{id}', '/n/{id}?page={id}', { template: '/m/{id}', rel: 'prefetch' }]) } : {} }, { kind: 'integer' }]
      case 2: return [this.chance(0.7) ? { 'x-push': this.pick([true, '/any/{id}', '/two/{a}/{b}']) } : {}, { kind: 'any' }]
      // Unions decided at run time: a pattern or an enum picks the branch.
      case 3: return [{ anyOf: [{ type: 'string', pattern: '^/a/', 'x-push': true }, { type: 'string' }] }, { kind: 'union' }]
      case 4: return [{ anyOf: [{ type: 'integer', enum: [1, 2], 'x-push': '/e/{id}' }, { type: 'integer' }] }, { kind: 'union' }]
      case 5: return [{ anyOf: [{ type: 'string', 'x-push': true }, { type: 'integer', 'x-push': '/i/{id}' }] }, { kind: 'union' }]
      case 6: return [{ type: 'object', properties: { '@id': { type: 'string' }, id: { type: 'integer' } }, 'x-push': this.pick([true, '/o/{id}']) }, { kind: 'object', properties: [['@id', { kind: 'string' }], ['id', { kind: 'integer' }]], patterns: [], additional: null }]
      default: return [{ $ref: '#' }, { kind: 'recursive' }]
    }
  }

  private object (room: number, recursive: boolean): [Record<string, unknown>, Shape] {
    const properties: Record<string, unknown> = {}
    const shapes: Array<[string, Shape]> = []
    const count = Math.floor(this.next() * 4)
    for (let i = 0; i < count; i++) {
      const name = this.pick(NAMES)
      if (name in properties) continue
      const [schema, shape] = this.schema(room - 1, recursive)
      properties[name] = schema
      shapes.push([name, shape])
    }
    const schema: Record<string, unknown> = { type: 'object', properties }
    const patterns: Array<[string, Shape]> = []
    if (this.chance(0.25)) {
      const patternProperties: Record<string, unknown> = {}
      for (const source of ['^x', '^a', 'z$'].filter(() => this.chance(0.6))) {
        const [child, shape] = this.schema(room - 1, recursive)
        patternProperties[source] = child
        patterns.push([source, shape])
      }
      schema.patternProperties = patternProperties
    }
    let additional: Shape | null = null
    if (this.chance(0.25)) {
      const [child, shape] = this.schema(room - 1, recursive)
      schema.additionalProperties = child
      additional = shape
    }
    return [schema, { kind: 'object', properties: shapes, patterns, additional }]
  }

  private array (room: number, recursive: boolean): [Record<string, unknown>, Shape] {
    if (this.chance(0.2)) {
      const annotated = this.chance(0.5)
      return [{ type: 'array', items: { type: 'string' }, ...annotated ? { 'x-push': true } : {} }, { kind: 'array', items: { kind: 'string' }, prefix: [] }]
    }
    const [items, shape] = this.schema(room - 1, recursive)
    if (this.chance(0.2)) {
      const [first, firstShape] = this.schema(room - 1, recursive)
      return [{ type: 'array', prefixItems: [first, { type: 'boolean' }], items }, { kind: 'array', items: shape, prefix: [firstShape, { kind: 'any' }] }]
    }
    return [{ type: 'array', items }, { kind: 'array', items: shape, prefix: [] }]
  }

  /** How many more values the payload being made may hold (recursion branches). */
  budget = 0

  /** A value for `shape`, now and then of another kind, a `toJSON` object or a hole. */
  payload (shape: Shape, root: Shape, level: number): unknown {
    if (--this.budget < 0) return '/a/1'
    if (this.chance(0.08)) return this.pick([null, 5, true, 'text', [], {}, undefined, 10n, ['/a/1', 3], { '@id': '/o/9' }])
    if (this.chance(0.05)) {
      const inner = this.payload(shape, root, level)
      return { toJSON: () => inner }
    }
    switch (shape.kind) {
      case 'string':
        return this.pick(REFERENCES)
      case 'integer':
        return this.pick([0, 1, 2, 3, 1.5, -1, Number.NaN, Infinity, 7n, '7', '-2.5', 'x'])
      case 'union':
      case 'any':
        return this.pick([...REFERENCES, 1, 2, 4, { '@id': '/o/1', id: 3 }, { id: 'a b' }, { a: 1, b: 2 }])
      case 'recursive':
        return this.chance(0.3) ? undefined : this.payload(root, root, level + 1)
      case 'array': {
        const length = Math.floor(this.next() * 5)
        return Array.from({ length }, (_, i) => this.payload(shape.prefix[i] ?? shape.items ?? { kind: 'any' }, root, level + 1))
      }
      case 'object': {
        const object: Record<string, unknown> = {}
        for (const [name, child] of shape.properties) {
          if (this.chance(0.85)) object[name] = this.payload(child, root, level + 1)
        }
        const others = shape.patterns.length > 0 || shape.additional !== null ? 3 : 1
        for (let i = 0; i < others; i++) {
          const name = this.pick(EXTRA_NAMES)
          const child = shape.patterns.find(([source]) => new RegExp(source).test(name))?.[1] ?? shape.additional ?? { kind: 'any' }
          object[name] = this.chance(0.1) ? this.pick([() => '/f/1', Symbol('s'), undefined]) : this.payload(child, root, level + 1)
        }
        return object
      }
    }
  }
}

/** A chain as deep as `length` along a recursive shape, for the depth cut. */
function chain (length: number): unknown {
  let node: Record<string, unknown> | undefined
  for (let i = length - 1; i >= 0; i--) node = { href: `/n/${i}`, ...node === undefined ? {} : { next: node } }
  return node
}

const OPTION_SETS: ResolvedOptions[] = [
  resolveOptions({ maxLinks: 1000, maxLinkBytes: 100_000 }),
  resolveOptions({}),
  resolveOptions({ maxLinks: 3 }),
  // The candidate cap is derived from maxLinks (1024 at least): set low here to be reached.
  { ...resolveOptions({}), maxCandidates: 4 },
  resolveOptions({ maxLinkBytes: 60 }),
  resolveOptions({ cacheTags: true, maxLinks: 2 }),
  resolveOptions({ cacheTags: true, iriKey: 'id' })
]

t.test('the compiled collector does what collectLinks does, on random plans and payloads', async (t) => {
  let plans = 0
  let checks = 0
  for (let seed = 1; seed <= 400; seed++) {
    const generator = new Generator(random(seed))
    const recursive = generator.chance(0.3)
    const [schema, shape] = generator.schema(4, recursive)
    const options = OPTION_SETS[seed % OPTION_SETS.length] as ResolvedOptions
    let plan: PlanNode | null
    try {
      plan = planOf(schema, options)
    } catch {
      continue // an annotation the compiler rejects: no plan to compare
    }
    if (plan === null) continue
    plans++
    for (let i = 0; i < 12; i++) {
      generator.budget = generator.pick([30, 300, 3000])
      const payload = generator.payload(shape, shape, 0)
      const tagLimit = options.cacheTags === null ? null : generator.pick([Infinity, 0, 3])
      const expected = outcome(generic, plan, payload, options, tagLimit)
      const actual = outcome(compiled, plan, payload, options, tagLimit)
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        t.same(actual, expected, `seed ${seed}, payload ${i} (the schema and payload are made again from the seed)`)
        return
      }
      checks++
    }
  }
  t.ok(plans > 200, `${plans} plans compared`)
  t.ok(checks > 2400, `${checks} payloads compared`)
})

t.test('property names are embedded as string literals, whatever they hold', async (t) => {
  const hostile = ['quo"te', "single'quote", 'back\\slash', '</script>', 'line\u2028sep', 'para\u2029sep', 'new\nline',
    '$' + '{x}', '`tick`', '"]; throw new Error("injected"); //', '\ud800lone', '__proto__x', '']
  const options = resolveOptions({ maxLinks: 100 })
  const schema = Type.Object(Object.fromEntries(hostile.map((name) => [name, Push(Type.String())])))
  const plan = planOf(schema, options) as PlanNode
  const payload = Object.fromEntries(hostile.map((name, i) => [name, `/h/${i}`]))
  const expected = outcome(generic, plan, payload, options, null)
  t.equal(expected.paths.length, hostile.length)
  t.same(outcome(compiled, plan, payload, options, null), expected)
  const source = collectorSource(plan)
  t.notOk(/[\u2028\u2029]/.test(source), 'no raw line separator in the code')
  for (const [index, name] of hostile.entries()) {
    t.ok(source.includes(`value[${literal(name)}]`), `name ${index} is read through its literal`)
    // eslint-disable-next-line no-new-func -- reads the literal back, as the generated code does
    t.equal(new Function(`return ${literal(name)}`)(), name, `name ${index} reads back`)
  }
})

t.test('a recursive plan: one function per node, and the depth cut of collectLinks', async (t) => {
  const Chain = Type.Recursive((This) => Type.Object({ href: Push(Type.String()), next: Type.Optional(This) }))
  const options = resolveOptions({ maxLinks: 1000, maxLinkBytes: 100_000 })
  const plan = planOf(Chain, options) as PlanNode
  t.match(collectorSource(plan), /function n0 [^]*complete = n0\(property/, 'the node calls itself')
  for (const length of [3, MAX_DEPTH, MAX_DEPTH + 1, 200]) {
    const expected = outcome(generic, plan, chain(length), options, null)
    t.same(outcome(compiled, plan, chain(length), options, null), expected, `a chain of ${length}`)
    t.equal(expected.complete, length <= MAX_DEPTH)
  }
  // Cyclic data: the depth bound stops both.
  const cycle: Record<string, unknown> = { href: '/c/1' }
  cycle.next = cycle
  t.same(outcome(compiled, plan, cycle, options, Infinity), outcome(generic, plan, cycle, options, Infinity))
})

t.test('the collector is generated once per plan, at registration', async (t) => {
  const options = resolveOptions({})
  const schema = Type.Object({ author: Push(Type.String()) })
  const route = compileRoute({ 200: schema }, () => undefined, options, 'GET /x')
  const plan = route.plans[0] as PlanNode
  const first = collectorOf(plan)
  t.equal(collectorOf(plan), first, 'cached')
  t.not(compileCollector(plan), first, 'compileCollector makes a new one')
  t.match(collectorSource(plan), /value\["author"\]/)
})

t.test('a plan made by hand: additionalProperties without the patterns list the compiler always adds', async (t) => {
  const options = resolveOptions({})
  const leaf = (planOf(Type.Object({ a: Push(Type.String()) }), options) as PlanNode).properties?.[0]?.[1] as PlanNode
  const plan: PlanNode = { link: null, properties: null, declared: null, patterns: null, additional: leaf, prefixItems: null, items: null }
  const payload = { x: '/a/1', y: 3, z: '/a/2' }
  const expected = outcome(generic, plan, payload, options, null)
  t.same(expected.paths, ['/a/1', '/a/2'])
  t.same(outcome(compiled, plan, payload, options, null), expected)
})
