import { KEYWORD, parseAnnotation, sameRule } from '../annotation/annotation.js'
import type { ResolvedOptions } from '../options.js'
import { isSchemaObject, type Fragment, type SchemaResolver } from './schema-resolver.js'
import type { BranchTest, LinkBranches, LinkRule } from '../plan/plan-node.js'

/**
 * Unions whose branches disagree about one kind of value: `Type.Union([Push(Type.String()),
 * Type.String()])` says "a link, or free text", and nothing at run time says which branch a
 * string took. Fastify's serializer (fast-json-stringify) writes an `anyOf`/`oneOf` value with
 * the first branch that validates it (Ajv, with ajv-formats), so the plugin does the same when
 * the branches can be told apart by keywords it checks cheaply, compiled here once: `type`
 * (integer against number), `pattern` (one RegExp), `format` (the few of FORMATS), `const` and
 * `enum` (a Set). Otherwise the union is ambiguous, and that fails at startup.
 * Only strings and numbers are decided this way; objects keep one rule for every branch.
 */

/**
 * The formats checked here, with ajv-formats' own ("full" mode) definitions, which
 * fast-json-stringify uses: the same string takes the same branch. Copied from ajv-formats 3
 * (MIT, https://github.com/ajv-validator/ajv-formats), single regular expressions only.
 */
const URI = /^(?:[a-z][a-z0-9+\-.]*:)(?:\/?\/(?:(?:[a-z0-9\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?(?:\[(?:(?:(?:(?:[0-9a-f]{1,4}:){6}|::(?:[0-9a-f]{1,4}:){5}|(?:[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){4}|(?:(?:[0-9a-f]{1,4}:){0,1}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){3}|(?:(?:[0-9a-f]{1,4}:){0,2}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){2}|(?:(?:[0-9a-f]{1,4}:){0,3}[0-9a-f]{1,4})?::[0-9a-f]{1,4}:|(?:(?:[0-9a-f]{1,4}:){0,4}[0-9a-f]{1,4})?::)(?:[0-9a-f]{1,4}:[0-9a-f]{1,4}|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?))|(?:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})?::[0-9a-f]{1,4}|(?:(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})?::)|[Vv][0-9a-f]+\.[a-z0-9\-._~!$&'()*+,;=:]+)\]|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?)|(?:[a-z0-9\-._~!$&'()*+,;=]|%[0-9a-f]{2})*)(?::\d*)?(?:\/(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*|\/(?:(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})+(?:\/(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*)?|(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})+(?:\/(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*)(?:\?(?:[a-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9a-f]{2})*)?(?:#(?:[a-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9a-f]{2})*)?$/i
const NOT_URI_FRAGMENT = /\/|:/
const URI_REFERENCE = /^(?:[a-z][a-z0-9+\-.]*:)?(?:\/?\/(?:(?:[a-z0-9\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?(?:\[(?:(?:(?:(?:[0-9a-f]{1,4}:){6}|::(?:[0-9a-f]{1,4}:){5}|(?:[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){4}|(?:(?:[0-9a-f]{1,4}:){0,1}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){3}|(?:(?:[0-9a-f]{1,4}:){0,2}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){2}|(?:(?:[0-9a-f]{1,4}:){0,3}[0-9a-f]{1,4})?::[0-9a-f]{1,4}:|(?:(?:[0-9a-f]{1,4}:){0,4}[0-9a-f]{1,4})?::)(?:[0-9a-f]{1,4}:[0-9a-f]{1,4}|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?))|(?:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})?::[0-9a-f]{1,4}|(?:(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})?::)|[Vv][0-9a-f]+\.[a-z0-9\-._~!$&'()*+,;=:]+)\]|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?)|(?:[a-z0-9\-._~!$&'"()*+,;=]|%[0-9a-f]{2})*)(?::\d*)?(?:\/(?:[a-z0-9\-._~!$&'"()*+,;=:@]|%[0-9a-f]{2})*)*|\/(?:(?:[a-z0-9\-._~!$&'"()*+,;=:@]|%[0-9a-f]{2})+(?:\/(?:[a-z0-9\-._~!$&'"()*+,;=:@]|%[0-9a-f]{2})*)*)?|(?:[a-z0-9\-._~!$&'"()*+,;=:@]|%[0-9a-f]{2})+(?:\/(?:[a-z0-9\-._~!$&'"()*+,;=:@]|%[0-9a-f]{2})*)*)?(?:\?(?:[a-z0-9\-._~!$&'"()*+,;=:@/?]|%[0-9a-f]{2})*)?(?:#(?:[a-z0-9\-._~!$&'"()*+,;=:@/?]|%[0-9a-f]{2})*)?$/i
const UUID = /^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i

export const FORMATS: ReadonlyMap<string, (value: string) => boolean> = new Map([
  ['uri', (value: string) => NOT_URI_FRAGMENT.test(value) && URI.test(value)],
  ['uri-reference', (value: string) => URI_REFERENCE.test(value)],
  ['uuid', (value: string) => UUID.test(value)]
])

/**
 * Keywords that can reject a string or a number but are not checked here: a branch that uses
 * one cannot be told from the next (`Type.String({ minLength: 3 })`).
 */
const UNCHECKED = ['minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'not', 'contentEncoding', 'contentMediaType']

/**
 * Most alternatives a value's schemas may combine into: a union of 100 literals is 100, but
 * unions side by side (in an `allOf`) multiply. Startup work only, bounded all the same.
 */
export const MAX_ALTERNATIVES = 1024

/** One way through the schemas of a value: the keywords of one branch of each union. */
interface Alternative {
  readonly types: ReadonlySet<string> | null
  readonly tests: readonly BranchTest[]
  /** The first keyword that constrains the value but is not checked here. */
  readonly unchecked: string | null
  readonly rules: readonly LinkRule[]
}

const ANY: Alternative = { types: null, tests: [], unchecked: null, rules: [] }

function conjoin (a: Alternative, b: Alternative): Alternative {
  return {
    types: a.types === null ? b.types : b.types === null ? a.types : new Set([...a.types].filter((type) => b.types?.has(type))),
    tests: [...a.tests, ...b.tests],
    unchecked: a.unchecked ?? b.unchecked,
    rules: [...a.rules, ...b.rules]
  }
}

type ScalarKind = 'string' | 'number'

function accepts (types: ReadonlySet<string> | null, kind: ScalarKind): boolean {
  return types === null || types.has(kind) || (kind === 'number' && types.has('integer'))
}

const isInteger: BranchTest = (value) => typeof value === 'bigint' || Number.isInteger(value)

function all (tests: readonly BranchTest[]): BranchTest {
  return tests.length === 1 ? tests[0] as BranchTest : (value) => tests.every((test) => test(value))
}

export class LinkBranchesBuilder {
  /** Set when a product went over MAX_ALTERNATIVES (the alternatives are then cut short). */
  private tooMany = false

  constructor (private readonly resolver: SchemaResolver, private readonly options: ResolvedOptions) {}

  /** Every pairing of an alternative of `a` with one of `b`, in order. */
  private product (a: readonly Alternative[], b: readonly Alternative[]): Alternative[] {
    if (a.length * b.length > MAX_ALTERNATIVES) {
      this.tooMany = true
      return [ANY]
    }
    return a.flatMap((left) => b.map((right) => conjoin(left, right)))
  }

  /**
   * The branches of the string and number rules of a value, when its unions disagree about
   * them; `entries` are the value's schemas (not expanded), `rules` what `rulesOf` found.
   * Returns a sentence saying why the union is ambiguous.
   */
  branchesOf (entries: readonly Fragment[], expanded: readonly Fragment[], rules: { readonly string: LinkRule | null, readonly number: LinkRule | null }):
  { string?: LinkBranches, number?: LinkBranches } | string {
    // Without a union anywhere, every schema applies to the value: nothing to decide.
    if (!expanded.some(({ schema }) => 'anyOf' in schema || 'oneOf' in schema || 'then' in schema || 'else' in schema)) return {}
    this.tooMany = false
    let alternatives: Alternative[] = [ANY]
    for (const entry of entries) alternatives = this.product(alternatives, this.alternativesOf(entry, new Set()))
    if (this.tooMany) return `its unions combine into more than ${MAX_ALTERNATIVES} alternatives; split the field`
    const out: { string?: LinkBranches, number?: LinkBranches } = {}
    for (const kind of ['string', 'number'] as const) {
      const rule = rules[kind]
      if (rule === null) continue
      const branches = this.decide(kind, rule, alternatives)
      if (typeof branches === 'string') return branches
      if (branches !== null) out[kind] = branches
    }
    return out
  }

  /** Null when every branch that takes this kind of value has the rule: no choice to make. */
  private decide (kind: ScalarKind, rule: LinkRule, alternatives: readonly Alternative[]): LinkBranches | null | string {
    const taking = alternatives.filter(({ types }) => accepts(types, kind))
    const rules = taking.map((alternative) => alternative.rules.some((own) => sameRule(own, rule)) ? rule : null)
    if (rules.every((own) => own !== null)) return null
    const fix = kind === 'string'
      ? 'give the branches a "pattern", a "format" (' + [...FORMATS.keys()].join(', ') + '), a "const" or an "enum", or use separate fields'
      : 'give the branches a "const" or an "enum" (or "integer" against "number"), or use separate fields'
    const problem = `a union holds ${kind}s that are links and ${kind}s that are not`
    // agreeFrom[i]: the branches from i on all have the same rule (the last one does).
    const agreeFrom = rules.map(() => false)
    for (let i = rules.length - 1; i >= 0; i--) agreeFrom[i] = i === rules.length - 1 || (agreeFrom[i + 1] === true && rules[i + 1] === rules[i])
    const choices: Array<readonly [BranchTest, LinkRule | null]> = []
    for (let i = 0; ; i++) {
      const alternative = taking[i] as Alternative
      const own = rules[i] ?? null
      // The branches left agree: whichever takes the value, the rule is the same.
      if (agreeFrom[i] === true) return { choices, otherwise: own }
      if (alternative.unchecked !== null) {
        return `${problem}, told apart by "${alternative.unchecked}", which the plugin does not check: ${fix}`
      }
      // "integer" tells a branch apart only from a later one, with another rule, that takes other numbers.
      const integerOnly = kind === 'number' && alternative.types !== null && !alternative.types.has('number') &&
        taking.some((other, j) => j > i && rules[j] !== own && accepts(other.types === null ? null : new Set([...other.types].filter((type) => type !== 'integer')), kind))
      const tests = integerOnly ? [...alternative.tests, isInteger] : alternative.tests
      if (tests.length === 0) {
        return `${problem}, and the schema cannot tell them apart (the first branch that matches takes every ${kind}): ${fix}`
      }
      choices.push([all(tests), own])
    }
  }

  /** The alternatives of one schema: its own keywords, with those of `$ref`, `allOf` and each union branch. */
  private alternativesOf (fragment: Fragment, onPath: Set<object>): Alternative[] {
    const { schema } = fragment
    if (onPath.has(schema)) return [ANY]
    onPath.add(schema)
    const document = typeof schema.$id === 'string' && !schema.$id.startsWith('#') ? this.resolver.documentOf(schema, fragment.document.base) : fragment.document
    const at = (value: unknown): Fragment[] => isSchemaObject(value) ? [{ schema: value, document }] : []
    let alternatives = [this.ownAlternative(schema)]
    if (typeof schema.$ref === 'string') {
      const target = this.resolver.resolveRef(schema.$ref, { schema, document })
      if (target !== null) alternatives = this.product(alternatives, this.alternativesOf(target, onPath))
    }
    for (const branch of Array.isArray(schema.allOf) ? schema.allOf : []) {
      for (const part of at(branch)) alternatives = this.product(alternatives, this.alternativesOf(part, onPath))
    }
    for (const keyword of ['anyOf', 'oneOf']) {
      const branches = schema[keyword]
      if (!Array.isArray(branches)) continue
      alternatives = this.product(alternatives, branches.flatMap((branch) => at(branch).flatMap((part) => this.alternativesOf(part, onPath))))
    }
    if ('then' in schema || 'else' in schema) {
      // `if` decides with the whole of its schema: not checked here, so then and else must agree.
      const [then, otherwise] = [schema.then, schema.else].map((branch) => {
        const parts = at(branch)
        return (parts.length === 0 ? [ANY] : this.alternativesOf(parts[0] as Fragment, onPath)).map((alternative) => ({ ...alternative, unchecked: alternative.unchecked ?? 'if' }))
      }) as [Alternative[], Alternative[]]
      alternatives = this.product(alternatives, [...then, ...otherwise])
    }
    onPath.delete(schema)
    return alternatives
  }

  private ownAlternative (schema: Record<string, unknown>): Alternative {
    const declared = Array.isArray(schema.type) ? schema.type : typeof schema.type === 'string' ? [schema.type] : null
    const tests: BranchTest[] = []
    let unchecked = UNCHECKED.find((keyword) => keyword in schema) ?? null
    if (typeof schema.pattern === 'string') {
      try {
        // Ajv compiles patterns with the "u" flag.
        const pattern = new RegExp(schema.pattern, 'u')
        tests.push((value) => typeof value !== 'string' || pattern.test(value))
      } catch {
        unchecked ??= 'pattern'
      }
    }
    if ('format' in schema) {
      const format = typeof schema.format === 'string' ? FORMATS.get(schema.format) : undefined
      if (format === undefined) unchecked ??= `format: ${String(schema.format)}`
      else tests.push((value) => typeof value !== 'string' || format(value))
    }
    if ('const' in schema) {
      const constant = schema.const
      tests.push((value) => value === constant)
    }
    if (Array.isArray(schema.enum)) {
      const members = new Set<unknown>(schema.enum)
      tests.push((value) => members.has(value))
    }
    const rule = KEYWORD in schema ? parseAnnotation(schema[KEYWORD], this.options) : null
    return {
      types: declared === null ? null : new Set(declared.filter((type): type is string => typeof type === 'string')),
      tests,
      unchecked,
      rules: rule !== null && typeof rule === 'object' ? [rule] : []
    }
  }
}
