// docs/proxies.md (and the README, in short) quotes the proxy configs the end-to-end suite runs
// and cites its tests by name. This keeps the guide from drifting away from what is tested:
// - each block marked `<!-- config: KIND [option[=value] ...] -->` must be, line for line and
//   in order, an excerpt of the config startProxy(KIND, options) writes (app on port 3000,
//   proxy on 8080), and must keep every push-related line of that config;
// - proxyCommand(), which builds those configs, must be exactly what startProxy() writes;
// - every test the guide cites (`test › subtest`) must exist in test/e2e-proxies.test.ts.
import t from 'tap'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { skipWithoutBinaries } from './helpers/binaries.js'
import { freePort, proxyCommand, startProxy, type ProxyKind, type ProxyOptions } from './helpers/proxies.js'

const DOC_PATH = path.join(__dirname, '..', 'docs', 'proxies.md')
const DOC = readFileSync(DOC_PATH, 'utf8')
const E2E = readFileSync(path.join(__dirname, 'e2e-proxies.test.ts'), 'utf8')

const KINDS: ProxyKind[] = ['nginx', 'apache', 'h2o']
const BINARY: Record<ProxyKind, string> = { nginx: 'nginx', apache: 'apache2', h2o: 'h2o' }
/** The addresses the guide's excerpts use. */
const DOC_CONFIG = { dir: '/srv/proxy', port: 8080, upstreamPort: 3000, root: false } as const

type Options = Pick<ProxyOptions, 'maxPushes' | 'earlyHints' | 'nginxDefaultBuffers'>

/** Lines of a config that matter for pushing: a block of the guide must not leave them out. */
const PUSH_RELATED: Record<ProxyKind, RegExp> = {
  nginx: /^\s*(?:listen|upstream|http2_|proxy_(?!\w*temp_path))/,
  apache: /^\s*(?:H2|Protocols|ProxyPass|ProxyPreserveHost|Listen|LoadModule (?:proxy|proxy_http|http2)_module)/,
  h2o: /^\s*(?:http2-|proxy\.)/
}

interface ConfigBlock {
  kind: ProxyKind
  options: Options
  /** the marker as written, for test names */
  marker: string
  /** the fenced block's lines */
  lines: string[]
}

function parseOptions (flags: string[], marker: string): Options {
  const options: Options = {}
  for (const flag of flags) {
    const [name, value] = flag.split('=')
    if (name === 'earlyHints' || name === 'nginxDefaultBuffers') {
      if (value !== undefined) throw new Error(`${marker}: ${name} takes no value`)
      options[name] = true
    } else if (name === 'maxPushes' && value !== undefined && /^\d+$/.test(value)) {
      options.maxPushes = Number(value)
    } else {
      throw new Error(`${marker}: unknown option ${flag}`)
    }
  }
  return options
}

/** The blocks of `markdown` marked `<!-- config: ... -->`, each right before its fenced block. */
export function configBlocks (markdown: string): ConfigBlock[] {
  const lines = markdown.split('\n')
  const blocks: ConfigBlock[] = []
  lines.forEach((line, i) => {
    const match = /^<!-- config: (.*?) -->$/.exec(line.trim())
    if (match === null) return
    const marker = `config: ${match[1]} (line ${i + 1})`
    const [kind, ...flags] = (match[1] as string).split(/\s+/)
    if (!KINDS.includes(kind as ProxyKind)) throw new Error(`${marker}: unknown proxy ${kind}`)
    if (!/^```/.test(lines[i + 1] ?? '')) throw new Error(`${marker}: no fenced block right after it`)
    const end = lines.indexOf('```', i + 2)
    if (end === -1) throw new Error(`${marker}: fenced block not closed`)
    blocks.push({ kind: kind as ProxyKind, options: parseOptions(flags, marker), marker, lines: lines.slice(i + 2, end) })
  })
  return blocks
}

const isComment = (line: string): boolean => line.trim() === '' || line.trim().startsWith('#')

/** The lines of `block` (comments aside) that are not lines of `config` in the same order. */
export function linesNotInConfig (block: string[], config: string): string[] {
  const configLines = config.split('\n').map((line) => line.trimEnd())
  const missing: string[] = []
  let from = 0
  for (const line of block) {
    if (isComment(line)) continue
    const at = configLines.indexOf(line.trimEnd(), from)
    if (at === -1) missing.push(line)
    else from = at + 1
  }
  return missing
}

/** The `test › subtest` names cited in backticks in `markdown` (fenced blocks aside), whitespace normalized. */
export function citedTests (markdown: string): string[][] {
  const prose = markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '')
  const spans = [...prose.matchAll(/`([^`]+)`/g)].map((m) => (m[1] as string).replace(/\s+/g, ' ').trim())
  return spans.filter((span) => span.includes(' › ')).map((span) => span.split(' › ').filter((part) => part !== '…'))
}

t.test('the checker itself', async (t) => {
  const config = 'a {\n  b;\n  c;\n}\n'
  t.same(linesNotInConfig(['a {', '  # why', '', '  c;', '}'], config), [], 'an excerpt in order, comments aside')
  t.same(linesNotInConfig(['  c;', '  b;'], config), ['  b;'], 'out of order')
  t.same(linesNotInConfig(['c;', '  d;'], config), ['c;', '  d;'], 'indentation counts, unknown lines are reported')
  t.same(configBlocks('<!-- config: nginx -->\n```nginx\nx\n```\n<!-- config: apache earlyHints -->\n```\ny\nz\n```\n'), [
    { kind: 'nginx', options: {}, marker: 'config: nginx (line 1)', lines: ['x'] },
    { kind: 'apache', options: { earlyHints: true }, marker: 'config: apache earlyHints (line 5)', lines: ['y', 'z'] }
  ])
  t.same(configBlocks('<!-- config: h2o maxPushes=3 -->\n```\n```').map((b) => b.options), [{ maxPushes: 3 }])
  t.throws(() => configBlocks('<!-- config: caddy -->\n```\n```'), /unknown proxy caddy/)
  t.throws(() => configBlocks('<!-- config: nginx -->\ntext\n```\n```'), /no fenced block/)
  t.throws(() => configBlocks('<!-- config: nginx -->\n```\nx'), /not closed/)
  t.throws(() => configBlocks('<!-- config: nginx pushes -->\n```\n```'), /unknown option pushes/)
  t.throws(() => configBlocks('<!-- config: nginx earlyHints=1 -->\n```\n```'), /takes no value/)
  t.same(citedTests('`a › b` and `… › c\n d` but not `e`\n```sh\nx `f › g`\n```\n`h › i`'), [['a', 'b'], ['c d'], ['h', 'i']])
})

const blocks = configBlocks(DOC)

t.test('docs/proxies.md has a config block for each proxy', async (t) => {
  t.same([...new Set(blocks.map((block) => block.kind))].sort(), [...KINDS].sort())
})

for (const block of blocks) {
  t.test(`docs/proxies.md ${block.marker}`, async (t) => {
    const { config } = proxyCommand(block.kind, { ...DOC_CONFIG, ...block.options })
    t.same(linesNotInConfig(block.lines, config), [], 'every line is a line of the config startProxy writes, in this order')
    const wanted = config.split('\n').filter((line) => PUSH_RELATED[block.kind].test(line))
    t.ok(wanted.length > 0)
    t.same(wanted.filter((line) => !block.lines.includes(line)), [], 'no push-related line of that config is left out')
  })
}

// The README quotes the key lines only: each must still be, in order, part of the tested config.
const README = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8')
const readmeBlocks = configBlocks(README)

t.test('README quotes a tested excerpt for each proxy', async (t) => {
  t.same(readmeBlocks.map((block) => block.kind), ['nginx', 'apache', 'h2o'])
  for (const block of readmeBlocks) {
    const { config } = proxyCommand(block.kind, { ...DOC_CONFIG, ...block.options })
    t.same(linesNotInConfig(block.lines, config), [], `${block.marker}: lines of the config startProxy writes, in order`)
    t.ok(block.lines.some((line) => /http2_push_preload on|H2Push on|http2-push-preload: ON/.test(line)), `${block.marker}: the switch that turns push on`)
  }
  // Without them nginx answers 502 once all upstream headers pass 4 KB: 32 links and a 2 KB
  // cookie are enough (e2e: 'nginx: 32 links under maxLinkBytes and a 2.2 KB Set-Cookie...').
  const nginx = readmeBlocks.find((block) => block.kind === 'nginx')
  const buffers = proxyCommand('nginx', DOC_CONFIG).config.split('\n').filter((line) => /proxy_(?:busy_)?buffers?(?:_size)?\s/.test(line))
  t.ok(buffers.length > 0)
  t.same(buffers.filter((line) => nginx?.lines.includes(line) !== true), [], 'the nginx excerpt keeps the proxy buffer lines')
})

t.test('proxyCommand() is what startProxy() writes', async (t) => {
  for (const kind of KINDS) {
    t.test(kind, async (t) => {
      if (skipWithoutBinaries(t, [BINARY[kind]])) return
      // the options of the guide's blocks for this proxy (the upstream need not exist to start)
      const options = blocks.find((block) => block.kind === kind)?.options ?? {}
      const upstreamPort = await freePort()
      const proxy = await startProxy(kind, { upstreamPort, ...options })
      t.teardown(() => proxy.stop())
      const expected = proxyCommand(kind, { dir: proxy.dir, port: proxy.port, upstreamPort, root: process.getuid?.() === 0, ...options })
      t.equal(readFileSync(expected.file, 'utf8'), expected.config)
    })
  }
})

t.test('nginxDefaultBuffers: nginx\'s own 4 KB header buffer, nginx only', async (t) => {
  const buffers = 'proxy_buffer_size 16k; proxy_buffers 8 16k; proxy_busy_buffers_size 32k;'
  t.match(proxyCommand('nginx', DOC_CONFIG).config, buffers)
  t.notMatch(proxyCommand('nginx', { ...DOC_CONFIG, nginxDefaultBuffers: true }).config, /proxy_buffer/)
  await t.rejects(startProxy('apache', { upstreamPort: 1, nginxDefaultBuffers: true }), new TypeError('nginxDefaultBuffers: only for nginx, not apache'))
  await t.rejects(startProxy('h2o', { upstreamPort: 1, nginxDefaultBuffers: false }), TypeError)
})

t.test('every test the guide cites exists in test/e2e-proxies.test.ts', async (t) => {
  const cited = citedTests(DOC)
  t.ok(cited.length >= 10, `${cited.length} citations`)
  // the test names as string literals, quotes unescaped
  const source = E2E.replace(/\\'/g, "'")
  for (const names of cited) {
    for (const name of names) t.ok(source.includes(`'${name}'`), `"${name}" names a test`)
  }
})
