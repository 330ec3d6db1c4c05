import type { UriTemplate } from '../links/uri/uri-template.js'

/*
 * The plan: what the compiler (compile/) makes of a route's response schema at registration,
 * and the one thing the per-response stages (collect/, vulcain/) read of it. This module holds
 * types and the branch choice only, so that code run per response never imports code run at
 * registration.
 */

/** What to do with the value of an annotated field, decided once at registration. */
export interface LinkRule {
  /** Null: the value itself (or the embedded object's IRI property) is the reference. */
  readonly template: UriTemplate | null
  /** Everything after `<uri>` in the Link entry, e.g. `; rel=preload; as=fetch`. */
  readonly params: string
  /** True when the entry says `nopush`: proxies and native push leave it alone. */
  readonly nopush: boolean
}

/**
 * The annotations that apply to one place of the payload, by the kind of value found there:
 * a union may say "an IRI, or an id through a template" (`string | integer`), each with its
 * own `x-push`. Arrays apply the rule of each element's kind.
 */
export interface LinkRules {
  readonly string: LinkRule | null
  readonly number: LinkRule | null
  readonly object: LinkRule | null
  /** Set when a union's branches disagree about strings: the first branch that takes the value decides. */
  readonly stringBranches?: LinkBranches
  /** The same for numbers. */
  readonly numberBranches?: LinkBranches
}

/** A check compiled at registration: does a value take this branch? */
export type BranchTest = (value: string | number | bigint) => boolean

/** The branches of a union for one kind of value: the first whose test passes gives the rule. */
export interface LinkBranches {
  readonly choices: ReadonlyArray<readonly [BranchTest, LinkRule | null]>
  /** The rule of values no choice takes (the branches left all agree). */
  readonly otherwise: LinkRule | null
}

/** The rule of `value` along `branches`. */
export function branchRule (branches: LinkBranches, value: string | number | bigint): LinkRule | null {
  for (const [test, rule] of branches.choices) if (test(value)) return rule
  return branches.otherwise
}

/** One node of a plan: what to do with the value found at one place of the payload. */
export interface PlanNode {
  /** Non-null when the value here is a relation (or an array of relations). */
  link: LinkRules | null
  /** Properties whose subtree holds relations. */
  properties: Array<readonly [string, PlanNode]> | null
  /** Every name in `properties`: patterns and `additionalProperties` do not apply to them. */
  declared: ReadonlySet<string> | null
  /**
   * Every `patternProperties` pattern, in order, with its node, or null when its subtree has
   * no relation (the first match still decides, as in the serializer). Null when neither the
   * patterns nor `additionalProperties` hold relations.
   */
  patterns: Array<readonly [RegExp, PlanNode | null]> | null
  /** `additionalProperties` (and `Type.Record` values), when its subtree holds relations. */
  additional: PlanNode | null
  /** Tuple elements, by index; null where the element holds no relation. */
  prefixItems: Array<PlanNode | null> | null
  /** Array elements past `prefixItems` (or all of them). */
  items: PlanNode | null
  /** With `cacheTags`: the object declares the IRI property (`iriKey`); its IRI is a cache tag. */
  iri?: boolean
}
