import type { LinkSet } from '../links/link-set.js'
import { expandUriTemplate } from '../links/uri/uri-template.js'
import { branchRule, type LinkRule, type LinkRules, type PlanNode } from '../plan/plan-node.js'
import { iriOf, MAX_DEPTH, NUMERIC, referenceOf, serialized } from './link-collector.js'
import type { TagSink } from './tag-sink.js'

/**
 * The collector of one plan, generated once per route (as fast-json-stringify generates its
 * serializer): the generic walk (`collectLinks`) asks each node at run time what it holds and
 * dispatches on it; here those answers are in the code, so a response pays for reading its
 * annotated fields and adding their links, as a hook written for the route would. It does
 * exactly what `collectLinks` does, which stays as the reference (test/compiled-collector.test.ts
 * runs both on generated plans and payloads).
 *
 * Safety: the only text of the schema that goes into the code is property names, through
 * `JSON.stringify`. Rules, templates, regular expressions, sets and branches are passed in as
 * values, by index; the payload is only ever data.
 */

/** Same contract as `collectLinks(plan, ...)`: reads the relations of `payload`, false if MAX_DEPTH cut the walk. */
export type Collector = (payload: unknown, links: LinkSet, iriKey: string, tags: TagSink | null) => boolean

const collectors = new WeakMap<PlanNode, Collector>()

/** The plan's collector, generated on first use (the route compiler asks at registration). */
export function collectorOf (plan: PlanNode): Collector {
  let collector = collectors.get(plan)
  if (collector === undefined) collectors.set(plan, collector = compileCollector(plan))
  return collector
}

/** What the generated code receives, by name: the run-time helpers, never globals. */
const HELPERS = { serialized, referenceOf, expandUriTemplate, branchRule, iriOf, NUMERIC }

/** A JavaScript string literal for `value`: JSON, with the two line separators escaped too. */
export function literal (value: string): string {
  return JSON.stringify(value).replace(/[\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16)}`)
}

const STOPPED = '(links.full && (tags === null || tags.full))'

/** Generates the functions of every node reachable from `root`; the first one is the root's. */
export function compileCollector (root: PlanNode): Collector {
  const generator = new Generator()
  const rootName = generator.nodeName(root)
  const source = `${generator.constants()}\n${generator.functions.join('\n')}\n` +
    `return function collect (payload, links, iriKey, tags) { return ${rootName}(payload, links, iriKey, 0, tags) }`
  const names = Object.keys(HELPERS)
  // eslint-disable-next-line no-new-func -- generated from the plan only: see the safety note above
  const factory = new Function('C', ...names, source) as (constants: unknown[], ...helpers: unknown[]) => Collector
  return factory(generator.values, ...Object.values(HELPERS))
}

/** The generated source of a plan's collector, for reading (docs, debugging). */
export function collectorSource (root: PlanNode): string {
  const generator = new Generator()
  generator.nodeName(root)
  return `${generator.constants()}\n${generator.functions.join('\n')}`
}

type ValueKind = 'string' | 'number' | 'object'

class Generator {
  readonly functions: string[] = []
  readonly values: unknown[] = []
  private readonly names = new Map<PlanNode, string>()

  /** `C[i]` as a constant of the factory: rules, templates, sets, regular expressions. */
  constant (value: unknown): string {
    let index = this.values.indexOf(value)
    if (index === -1) index = this.values.push(value) - 1
    return `c${index}`
  }

  constants (): string {
    return this.values.map((_, index) => `const c${index} = C[${index}]`).join('\n')
  }

  /** The name of the node's function, generated on first use (a recursive plan calls itself by name). */
  nodeName (node: PlanNode): string {
    let name = this.names.get(node)
    if (name === undefined) {
      name = `n${this.names.size}`
      this.names.set(node, name)
      this.functions.push(this.nodeFunction(node, name))
    }
    return name
  }

  private nodeFunction (node: PlanNode, name: string): string {
    const lines = [
      `function ${name} (raw, links, iriKey, depth, tags) {`,
      `  if (depth > ${MAX_DEPTH}) return false`,
      '  const value = serialized(raw)'
    ]
    if (node.link !== null) {
      const relation = this.relationFunction(node.link, `${name}r`)
      lines.push(
        '  if (Array.isArray(value)) {',
        `    for (let i = 0; i < value.length && !${STOPPED}; i++) ${relation}(serialized(value[i]), links, iriKey, tags)`,
        `  } else ${relation}(value, links, iriKey, tags)`
      )
    }
    const hasArray = node.items !== null || node.prefixItems !== null
    const hasObject = node.iri === true || node.properties !== null || node.patterns !== null || node.additional !== null
    if (!hasArray && !hasObject) return [...lines, '  return true', '}'].join('\n')
    lines.push(`  if (typeof value !== 'object' || value === null || ${STOPPED}) return true`, '  let complete = true')
    if (hasArray) lines.push('  if (Array.isArray(value)) {', ...this.arrayLines(node), '    return complete', '  }')
    else lines.push('  if (Array.isArray(value)) return true')
    if (hasObject) lines.push(...this.objectLines(node))
    return [...lines, '  return complete', '}'].join('\n')
  }

  /** Elements: each by the tuple member at its index, else by `items`. */
  private arrayLines (node: PlanNode): string[] {
    const visit = (child: PlanNode | null): string => child === null ? '' : `complete = ${this.nodeName(child)}(value[i], links, iriKey, depth + 1, tags) && complete`
    const lines = [`    for (let i = 0; i < value.length && !${STOPPED}; i++) {`]
    const prefix = node.prefixItems ?? []
    if (prefix.length > 0) {
      lines.push('      switch (i) {')
      prefix.forEach((child, index) => { lines.push(`        case ${index}: ${visit(child)}; break`) })
      lines.push(`        default: ${visit(node.items)}`, '      }')
    } else {
      lines.push(`      ${visit(node.items)}`)
    }
    lines.push('    }')
    return lines
  }

  /** The IRI tag, declared properties, then other names by the first matching pattern or `additionalProperties`. */
  private objectLines (node: PlanNode): string[] {
    const lines: string[] = []
    if (node.iri === true) {
      lines.push('  if (tags !== null) {', '    const iri = value[iriKey]', '    if (typeof iri === \'string\') tags.add(iri)', '  }')
    }
    if (node.properties !== null) lines.push('  let property')
    for (const [name, child] of node.properties ?? []) {
      lines.push(
        `  property = value[${literal(name)}]`,
        `  if (property !== undefined && !${STOPPED}) complete = ${this.nodeName(child)}(property, links, iriKey, depth + 1, tags) && complete`
      )
    }
    if (node.patterns === null && node.additional === null) return lines
    lines.push(
      '  for (const name of Object.keys(value)) {',
      `    if (${STOPPED}) break`
    )
    if (node.declared !== null) lines.push(`    if (${this.constant(node.declared)}.has(name)) continue`)
    lines.push(
      '    const other = value[name]',
      '    // What the serializer leaves out of the body has no link either.',
      '    if (other === undefined || typeof other === \'function\' || typeof other === \'symbol\') continue'
    )
    const visit = (child: PlanNode | null): string => child === null ? '{}' : `complete = ${this.nodeName(child)}(other, links, iriKey, depth + 1, tags) && complete`
    let keyword = 'if'
    for (const [pattern, child] of node.patterns ?? []) {
      lines.push(`    ${keyword} (${this.constant(pattern)}.test(name)) ${visit(child)}`)
      keyword = 'else if'
    }
    if (node.additional !== null) lines.push(`    ${keyword === 'if' ? '' : 'else '}${visit(node.additional)}`)
    lines.push('  }')
    return lines
  }

  /**
   * `addRelation` for these rules: the rule of each kind of value (`ruleFor`) and the reference
   * it gives (`referenceOf`) are decided here when no union branch decides them at run time.
   */
  private relationFunction (rules: LinkRules, name: string): string {
    const { stringBranches, numberBranches } = rules
    const dynamic = (branches: unknown): string =>
      `rule = branchRule(${this.constant(branches)}, value); reference = rule === null ? null : referenceOf(rule.template, value, iriKey)`
    const string = stringBranches !== undefined
      ? dynamic(stringBranches)
      : rules.string !== null
        ? this.staticRule(rules.string, 'string')
        : numberBranches === undefined && rules.number !== null
          // The serializer writes a numeric string in an integer field as a number: so does its link.
          ? `if (NUMERIC.test(value)) { ${this.staticRule(rules.number, 'string')} }`
          : ''
    const number = numberBranches !== undefined ? dynamic(numberBranches) : this.staticRule(rules.number, 'number')
    const object = this.staticRule(rules.object, 'object')
    this.functions.push([
      `function ${name} (value, links, iriKey, tags) {`,
      '  let rule = null',
      '  let reference = null',
      // Only the kinds of values these rules apply to: the others are skipped.
      ...[
        ['typeof value === \'string\'', string],
        ['typeof value === \'number\' || typeof value === \'bigint\'', number],
        ['typeof value === \'object\' && value !== null && !Array.isArray(value)', object]
      ].filter(([, code]) => code !== '').map(([test, code], index) => `  ${index === 0 ? 'if' : 'else if'} (${test}) { ${code} }`),
      // Past the link caps the walk goes on for the tags only: no link may be added after a cap.
      '  if (reference === null || rule === null) {',
      '    if (!links.full) links.skip()',
      '  } else {',
      '    if (!links.full) links.add(reference, rule)',
      '    if (tags !== null) tags.add(reference)',
      '  }',
      '}'
    ].join('\n'))
    return name
  }

  /** `rule` and `reference` for a rule known here, applied to a value of this kind. */
  private staticRule (rule: LinkRule | null, kind: ValueKind): string {
    if (rule === null) return ''
    return `rule = ${this.constant(rule)}; reference = ${this.referenceExpression(rule, kind)}`
  }

  /** `referenceOf(rule.template, value, iriKey)`, for a value of this kind. */
  private referenceExpression (rule: LinkRule, kind: ValueKind): string {
    const { template } = rule
    if (kind === 'object') {
      return template === null
        ? 'iriOf(value, iriKey)'
        : `expandUriTemplate(${this.constant(template)}, (name) => value[name])`
    }
    if (template === null) return kind === 'string' ? 'value' : 'null'
    return template.variables.length === 1 ? `expandUriTemplate(${this.constant(template)}, () => value)` : 'null'
  }
}
