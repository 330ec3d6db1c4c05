// The layout of lib/ is the pipeline: schema (annotation/) -> compiled plan (compile/, plan/) ->
// collected references (collect/) -> link set (links/) -> outputs (deliver/), with Vulcain
// (vulcain/) and cache tags (cache-tags/) as removable folders. These tests hold its rules on
// every module's imports; `npm run check:cycles` (dpdm, run by `npm test`) holds the other one:
// no import cycles, type imports included.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import t from 'tap'

const LIB = join(__dirname, '..', 'lib')

/** What a folder of lib/ may import (besides itself); `.` is the top level (options, errors...). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  annotation: ['.', 'plan', 'links'],
  compile: ['.', 'annotation', 'plan', 'links', 'collect'],
  plan: ['links'],
  links: ['.', 'plan'],
  collect: ['plan', 'links'],
  deliver: ['.', 'plan', 'links'],
  vulcain: ['.', 'plan', 'links', 'collect', 'deliver', 'compile'],
  'cache-tags': ['.', 'links', 'collect']
}

/** Modules run at registration only; every other module runs per response too. */
const REGISTRATION_FOLDERS = new Set(['annotation', 'compile'])
const REGISTRATION_MODULES = new Set(['vulcain/vulcain-route.ts', 'vulcain/options.ts', 'cache-tags/options.ts', 'options.ts', 'option-checks.ts', 'plugin.ts',
  // the entry points: they load the plugin and export its public API
  'index.ts', 'entry-esm.mts', 'entry-commonjs.cts'])

interface Import {
  readonly from: string
  readonly to: string
  readonly typeOnly: boolean
}

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? sources(path) : /\.[mc]?ts$/.test(entry.name) ? [relative(LIB, path)] : []
  })
}

const IMPORT = /^(?:import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?'(\.{1,2}\/[^']+)'/gm

/** The relative imports of a module's source, as lib/-relative `.ts` paths. */
export function importsOf (from: string, source: string): Import[] {
  return [...source.matchAll(IMPORT)].map((match) => ({
    from,
    to: relative(LIB, resolve(LIB, dirname(from), match[2] as string)).replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts').replace(/\.cjs$/, '.cts'),
    typeOnly: match[1] !== undefined
  }))
}

function folderOf (module: string): string {
  const slash = module.indexOf('/')
  return slash === -1 ? '.' : module.slice(0, slash)
}

function isRegistration (module: string): boolean {
  return REGISTRATION_FOLDERS.has(folderOf(module)) || REGISTRATION_MODULES.has(module)
}

/** The rules a set of imports breaks, as sentences. */
export function problemsOf (imports: readonly Import[]): string[] {
  const problems: string[] = []
  for (const { from, to, typeOnly } of imports) {
    const [source, target] = [folderOf(from), folderOf(to)]
    if (source !== '.' && source !== target && !(ALLOWED[source] ?? []).includes(target)) {
      problems.push(`${from} imports ${to}: ${source}/ may import only ${(ALLOWED[source] ?? []).join(', ')}`)
    }
    if (!isRegistration(from) && isRegistration(to) && (!typeOnly || REGISTRATION_FOLDERS.has(target))) {
      problems.push(`${from} runs per response and imports ${to}, which runs at registration`)
    }
  }
  return problems
}

const modules = sources(LIB)
const imports = modules.flatMap((module) => importsOf(module, readFileSync(join(LIB, module), 'utf8')))

t.test('lib/ has one folder per stage, and every folder has rules', async (t) => {
  const folders = new Set(modules.map(folderOf))
  folders.delete('.')
  t.same([...folders].sort(), Object.keys(ALLOWED).sort())
  t.ok(imports.length > 80, `the imports were read (${imports.length})`)
})

t.test('every module imports only the stages before it, and per-response code no registration code', async (t) => {
  t.same(problemsOf(imports), [])
})

t.test('the checks catch what they forbid', async (t) => {
  const read = (from: string, line: string): Import[] => importsOf(from, line + '\n')
  t.same(read('collect/x.ts', "import { a } from '../deliver/y.js'"), [{ from: 'collect/x.ts', to: 'deliver/y.ts', typeOnly: false }])
  t.match(problemsOf(read('collect/x.ts', "import { a } from '../deliver/y.js'")), [/collect\/ may import only plan, links/])
  t.match(problemsOf(read('links/x.ts', "import type { a } from '../vulcain/y.js'")), [/links\/ may import only/])
  t.match(problemsOf(read('deliver/x.ts', "import { parseAnnotation } from '../annotation/annotation.js'")), [/may import only/, /runs per response and imports annotation\/annotation\.ts/])
  t.match(problemsOf(read('vulcain/vulcain.ts', "import { compileRoute } from '../compile/route-compiler.js'")), [/runs per response and imports compile\/route-compiler\.ts/])
  t.match(problemsOf(read('vulcain/vulcain.ts', "import type { X } from '../compile/route-compiler.js'")), [/runs per response/], 'not even a type from compile/')
  t.same(problemsOf(read('deliver/x.ts', "import type { ResolvedOptions } from '../options.js'")), [], 'the options type is fine')
  t.match(problemsOf(read('deliver/x.ts', "import { resolveOptions } from '../options.js'")), [/runs per response and imports options\.ts/])
  t.same(problemsOf(read('vulcain/vulcain-route.ts', "import { compileRoute } from '../compile/route-compiler.js'")), [], 'registration code may')
  t.same(read('plugin.ts', "export { x } from './deliver/y.js'\nimport './z.js'"), [
    { from: 'plugin.ts', to: 'deliver/y.ts', typeOnly: false },
    { from: 'plugin.ts', to: 'z.ts', typeOnly: false }
  ])
})
