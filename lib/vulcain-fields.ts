import { WILDCARD, type Selector, type SelectorToken } from './vulcain-selectors.js'

/**
 * The `Fields` directive: the response holds only the selected fields that exist. Selectors
 * are merged into a tree; a selector that ends somewhere selects everything below it, and a
 * `*` next to a name applies to that name too ("all matched fields MUST be returned").
 */
export class FieldTree {
  /** A selector ends here: the whole value is selected. */
  leaf = false
  wildcard: FieldTree | null = null
  readonly children = new Map<string, FieldTree>()
  private readonly merged = new Map<string, FieldTree | null>()

  static of (selectors: readonly Selector[]): FieldTree {
    const root = new FieldTree()
    for (const { tokens } of selectors) {
      let node: FieldTree = root
      for (const part of tokens) {
        if (part === WILDCARD) node = node.wildcard ??= new FieldTree()
        else {
          let child = node.children.get(part)
          if (child === undefined) node.children.set(part, child = new FieldTree())
          node = child
        }
      }
      node.leaf = true
    }
    return root
  }

  /** The tree for the value at `key` below this node, or null when nothing selects it. */
  child (key: string): FieldTree | null {
    const named = this.children.get(key)
    if (named === undefined || this.wildcard === null) return named ?? this.wildcard
    let both = this.merged.get(key)
    if (both === undefined) this.merged.set(key, both = merge(named, this.wildcard))
    return both
  }

  /** The selectors below this node, as remaining selectors for a linked resource. */
  remainders (prefix: SelectorToken[] = [], out: Selector[] = []): Selector[] {
    if (this.leaf) out.push({ tokens: [...prefix], parameters: new Map() })
    for (const [name, child] of this.children) child.remainders([...prefix, name], out)
    this.wildcard?.remainders([...prefix, WILDCARD], out)
    return out
  }
}

function merge (a: FieldTree, b: FieldTree): FieldTree {
  const tree = new FieldTree()
  tree.leaf = a.leaf || b.leaf
  tree.wildcard = a.wildcard === null ? b.wildcard : b.wildcard === null ? a.wildcard : merge(a.wildcard, b.wildcard)
  for (const source of [a, b]) {
    for (const [name, child] of source.children) {
      const existing = tree.children.get(name)
      tree.children.set(name, existing === undefined ? child : merge(existing, child))
    }
  }
  return tree
}

/**
 * The selected part of a JSON document. Objects keep the selected members that exist; with `*`,
 * arrays keep every element, each filtered (an element lacking the fields becomes `{}`); with
 * explicit indexes, they keep their positions, `null` standing for the elements not selected
 * (as the Go gateway does). A scalar reached while a selector goes on is kept: it is a relation,
 * and the rest of the selector is for the linked resource.
 */
export function selectFields (value: unknown, tree: FieldTree): unknown {
  if (tree.leaf || typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    const kept: unknown[] = []
    let last = -1
    for (let index = 0; index < value.length; index++) {
      const child = tree.child(String(index))
      if (child === null) continue
      kept[index] = selectFields(value[index], child)
      last = index
    }
    for (let index = 0; index <= last; index++) if (!(index in kept)) kept[index] = null
    return kept
  }
  const object = value as Record<string, unknown>
  // No prototype: a "__proto__" member of the document stays a member.
  const kept = Object.create(null) as Record<string, unknown>
  for (const key of Object.keys(object)) {
    const child = tree.child(key)
    if (child !== null) kept[key] = selectFields(object[key], child)
  }
  return kept
}
