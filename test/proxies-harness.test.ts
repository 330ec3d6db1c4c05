// Proves the end-to-end harness (test/helpers/*) against the real proxies: a tiny Node
// upstream sends `Link: rel=preload` headers, nginx / Apache / h2o turn them into HTTP/2
// pushes, and nghttp's parsed trace must show exactly the known behaviour of each proxy
// (see the table in the project's facts: quoted rel, upper-case rel, nopush, 103...).
//
// The parser is also checked offline on traces captured from these very runs, stored in
// test/fixtures/nghttp/. Refresh them with:
//   NGHTTP_CAPTURE=1 npx tap test/proxies-harness.test.ts --disable-coverage
import t, { type Test } from 'tap'
import http from 'node:http'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { freePort, groupAlive, privsepDirs, removeNewPrivsepDirs, startProxy, stopGroup, type ProxyKind, type ProxyOptions, type RunningProxy } from './helpers/proxies.js'
import { nghttp, nghttpArgs, parseNghttpTrace, type NghttpOptions, type NghttpRequest, type NghttpResult, type NghttpRun } from './helpers/nghttp.js'
import { installHint, missingBinaries, skipWithoutBinaries, type SkipTarget } from './helpers/binaries.js'

const FIXTURES = path.join(__dirname, 'fixtures', 'nghttp')
const CAPTURE = process.env['NGHTTP_CAPTURE'] === '1'
const KINDS: ProxyKind[] = ['nginx', 'apache', 'h2o']
const BINARY: Record<ProxyKind, string> = { nginx: 'nginx', apache: 'apache2', h2o: 'h2o' }

// --- upstream -------------------------------------------------------------------------

// each page links a different author: h2o pushes a path at most once per connection,
// so shared targets would make the pushes depend on request order
const LINKS: Record<string, string> = {
  '/books/1': '</authors/1>; rel=preload; as=fetch',
  '/quoted': '</authors/2>; rel="preload"; as="fetch"',
  '/upper': '</authors/3>; rel=PRELOAD; as=fetch',
  '/nopush': '</authors/4>; rel=preload; as=fetch; nopush',
  '/two': '</authors/5>; rel=preload; as=fetch, </authors/6>; rel=preload; as=fetch',
  '/early': '</authors/7>; rel=preload; as=fetch',
  '/dup': '</authors/1>; rel=preload; as=fetch' // same target as /books/1
}
const VARIANTS = ['/books/1', '/quoted', '/upper', '/nopush']

function authorBody (p: string): string {
  return JSON.stringify({ '@id': p, name: `Author ${p.split('/').pop()}` })
}

function send (res: http.ServerResponse, req: http.IncomingMessage, body: string, link?: string): void {
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    // echoes a request header: shows that nghttp's `headers` option reaches the upstream
    ...(req.headers['x-test'] === undefined ? {} : { 'x-echo': req.headers['x-test'] }),
    ...(link === undefined ? {} : { link })
  })
  res.end(body)
}

// /hang never answers: the client must time out. The responses are kept so a test can
// release them: a proxy worker blocked on one makes Apache's shutdown wait.
const hanging = new Set<http.ServerResponse>()

function releaseHanging (): void {
  for (const res of hanging) res.destroy()
  hanging.clear()
}

function handle (req: http.IncomingMessage, res: http.ServerResponse): void {
  const p = req.url ?? '/'
  if (p === '/hang') {
    hanging.add(res)
    return
  }
  if (p.startsWith('/authors/')) return send(res, req, authorBody(p))
  const link = LINKS[p]
  if (p === '/early' && link !== undefined) {
    res.writeEarlyHints({ link })
    setTimeout(() => send(res, req, '{"@id":"/early"}', link), 100)
    return
  }
  send(res, req, JSON.stringify({ '@id': p }), link)
}

async function startUpstream (): Promise<{ port: number, close: () => Promise<void> }> {
  const server = http.createServer(handle)
  // nginx 1.22 only ends a proxied 103 when the upstream closes the connection: keep it short
  server.keepAliveTimeout = 300
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  const close = (): Promise<void> => new Promise(resolve => {
    server.closeAllConnections() // also the /hang sockets
    server.close(() => resolve())
  })
  return { port, close }
}

// --- helpers --------------------------------------------------------------------------

async function withProxy (tt: Test, kind: ProxyKind, options: ProxyOptions): Promise<RunningProxy> {
  const proxy = await startProxy(kind, options)
  tt.teardown(async () => {
    if (!tt.passing()) console.error(`--- ${kind} log ---\n${proxy.log()}`)
    await proxy.stop()
  })
  return proxy
}

function get (proxy: RunningProxy, paths: string[], options: NghttpOptions = {}): Promise<NghttpRun> {
  return nghttp(paths.map(p => `http://127.0.0.1:${proxy.port}${p}`), options)
}

function capture (name: string, run: NghttpRun): void {
  if (!CAPTURE) return
  mkdirSync(FIXTURES, { recursive: true })
  writeFileSync(path.join(FIXTURES, `${name}.txt`), run.trace)
}

function fixture (name: string): NghttpResult {
  return parseNghttpTrace(readFileSync(path.join(FIXTURES, `${name}.txt`), 'utf8'))
}

function request (result: NghttpResult, p: string): NghttpRequest {
  const req = result.requests.find(r => r.path === p)
  if (req === undefined) throw new Error(`no request for ${p} in the trace`)
  return req
}

// --- expectations ---------------------------------------------------------------------

// what each proxy pushes for each page (known behaviour, see the facts table)
const EXPECTED: Record<ProxyKind, Record<string, string[]>> = {
  nginx: { '/books/1': ['/authors/1'], '/quoted': ['/authors/2'], '/upper': ['/authors/3'], '/nopush': [] },
  apache: { '/books/1': ['/authors/1'], '/quoted': ['/authors/2'], '/upper': [], '/nopush': [] },
  h2o: { '/books/1': ['/authors/1'], '/quoted': [], '/upper': ['/authors/3'], '/nopush': [] }
}

function assertLinkVariants (tt: Test, kind: ProxyKind, result: NghttpResult): void {
  const expected = EXPECTED[kind]
  for (const p of VARIANTS) {
    const req = request(result, p)
    tt.match(req, { status: 200, endStream: true, reset: null, headers: { link: LINKS[p], 'x-echo': 'yes' } }, `${p} answered completely`)
    tt.same(req.promised, expected[p], `${p}: promised ${JSON.stringify(expected[p])}`)
  }
  const all = Object.values(expected).flat()
  tt.same([...result.promised].sort(), [...all].sort(), 'nothing else promised')
  tt.same([...result.pushed].sort(), [...all].sort(), 'every promised push completed')
  for (const push of result.pushes) {
    tt.match(push, {
      method: 'GET',
      status: 200,
      endStream: true,
      bodyBytes: Buffer.byteLength(authorBody(push.path)),
      headers: { 'content-type': 'application/json' }
    }, `pushed ${push.path} is the author's JSON`)
  }
  tt.same(result.rstStreams, [], 'no stream reset')
  tt.same(result.messages, [], 'nghttp reported nothing unusual')
}

// Apache (push diary) and h2o push a path once per connection; nginx promises it again,
// and nghttp itself cancels a push of a URL it already has (so never request a URL on
// the connection you expect to be pushed)
function assertDuplicate (tt: Test, kind: ProxyKind, result: NghttpResult): void {
  tt.same(result.pushed, ['/authors/1'], 'pushed completely once')
  if (kind !== 'nginx') {
    tt.same(result.promised, ['/authors/1'], `${kind} promises it once`)
    tt.same(result.rstStreams, [])
    return
  }
  tt.same(result.promised, ['/authors/1', '/authors/1'], 'nginx promises it twice')
  const second = result.pushes[1]
  tt.match(second, { reset: 'CANCEL', endStream: false }, 'nghttp cancels the second one')
  tt.match(result.rstStreams, [{ direction: 'send', streamId: second?.promisedStreamId, errorCode: 'CANCEL' }])
}

// the 103 + 200 upstream: each proxy breaks or handles it differently
function assertEarlyHints (tt: Test, kind: ProxyKind, result: NghttpResult, apacheEarlyHints: boolean): void {
  const req = request(result, '/early')
  tt.same(req.promised, ['/authors/7'], 'the linked author is promised')
  tt.same(result.pushed, ['/authors/7'], 'and pushed completely')
  const push = result.pushes[0]
  if (kind === 'nginx') {
    // nginx 1.22 takes the 103 for the final response and the real 200 for its body;
    // when the upstream closes, it sends DATA after a 1xx and nghttp resets the stream
    tt.match(req, { status: null, endStream: false, reset: 'PROTOCOL_ERROR', interim: [{ status: 103, headers: { link: LINKS['/early'] } }] })
    tt.match(result.rstStreams, [{ direction: 'send', streamId: req.streamId, errorCode: 'PROTOCOL_ERROR' }])
    tt.match(result.messages, [/^Some requests were not processed/])
    return
  }
  tt.match(req, { status: 200, endStream: true, reset: null }, 'final response complete')
  // the push goes out with the upstream 103, ~100 ms before the final response
  tt.ok(push !== undefined && req.at !== null && push.promisedAt < req.at, 'pushed before the final response')
  if (kind === 'apache' && apacheEarlyHints) {
    tt.match(req.interim, [{ status: 103, headers: { link: LINKS['/early'] } }], 'Apache forwards the 103 (H2EarlyHints on)')
  } else {
    tt.same(req.interim, [], `${kind} drops the 103`)
  }
}

// --- live tests -----------------------------------------------------------------------

t.test('harness against the real proxies', async t => {
  const upstream = await startUpstream()
  t.teardown(upstream.close)

  for (const kind of KINDS) {
    t.test(kind, async t => {
      if (skipWithoutBinaries(t, [BINARY[kind], 'nghttp'])) return
      const proxy = await withProxy(t, kind, { upstreamPort: upstream.port })
      t.match(proxy, { kind, dir: new RegExp(`push-e2e-${kind}-`) })
      t.ok(existsSync(path.join(proxy.dir, 'server.log')), 'server output goes to dir/server.log')

      t.test('Link variants (one connection)', async t => {
        const run = await get(proxy, VARIANTS, { headers: { 'x-test': 'yes' } })
        capture(`${kind}-link-variants`, run)
        t.equal(run.exitCode, 0)
        assertLinkVariants(t, kind, run)
      })

      t.test('the same path linked by two responses on one connection', async t => {
        const run = await get(proxy, ['/books/1', '/dup'])
        capture(`${kind}-duplicate`, run)
        assertDuplicate(t, kind, run)
      })

      t.test('SETTINGS_ENABLE_PUSH=0 (noPush): nothing pushed', async t => {
        const run = await get(proxy, ['/two'], { noPush: true })
        t.match(run.trace, 'SETTINGS_ENABLE_PUSH(0x02):0')
        t.match(request(run, '/two'), { status: 200, endStream: true, promised: [] })
        t.same(run.pushes, [])
      })

      t.test('client SETTINGS_MAX_CONCURRENT_STREAMS=1', async t => {
        const free = await get(proxy, ['/two'])
        t.same(free.pushed, ['/authors/5', '/authors/6'], 'both links pushed by default')
        const limited = await get(proxy, ['/two'], { maxConcurrentStreams: 1 })
        t.match(limited.trace, 'SETTINGS_MAX_CONCURRENT_STREAMS(0x03):1')
        // nginx and h2o drop what does not fit; Apache promises both and sends them in turn
        // (reserved streams do not count against the limit)
        t.same(limited.pushed, kind === 'apache' ? ['/authors/5', '/authors/6'] : ['/authors/5'])
      })

      if (kind === 'apache') {
        t.test('maxPushes is rejected', async t => {
          await t.rejects(startProxy(kind, { upstreamPort: upstream.port, maxPushes: 1 }), TypeError)
        })
      } else {
        t.test('maxPushes: 1', async t => {
          const limited = await withProxy(t, kind, { upstreamPort: upstream.port, maxPushes: 1 })
          const config = readFileSync(path.join(limited.dir, `${kind}.conf`), 'utf8')
          t.match(config, kind === 'nginx' ? 'http2_max_concurrent_pushes 1;' : 'http2-max-concurrent-requests-per-connection: 2')
          const run = await get(limited, ['/two'])
          t.same(run.pushed, ['/authors/5'], 'only the first link is pushed')
        })
      }

      t.test('upstream 103 Early Hints', async t => {
        const run = await get(proxy, ['/early'], { timeoutMs: 5000 })
        capture(`${kind}-early-hints`, run)
        assertEarlyHints(t, kind, run, false)
        if (kind !== 'apache') return
        const hinted = await withProxy(t, kind, { upstreamPort: upstream.port, earlyHints: true })
        t.match(readFileSync(path.join(hinted.dir, 'httpd.conf'), 'utf8'), 'H2EarlyHints on')
        const hintedRun = await get(hinted, ['/early'])
        capture('apache-early-hints-on', hintedRun)
        assertEarlyHints(t, kind, hintedRun, true)
      })

      t.test('nghttp timeout: exit code 0, the trace tells', async t => {
        const run = await get(proxy, ['/hang', '/books/1'], { timeoutMs: 300 })
        releaseHanging()
        capture(`${kind}-timeout`, run)
        t.match(run, { exitCode: 0, killed: false })
        t.match(request(run, '/hang'), { status: null, endStream: false })
        t.match(request(run, '/books/1'), { status: 200, endStream: true }, 'the other stream completed')
        t.match(run.messages, ['[ERROR] Timeout', /^Some requests were not processed/])
      })

      t.test('stop() ends the whole process group and removes the dir', async t => {
        const other = await startProxy(kind, { upstreamPort: upstream.port })
        t.ok(groupAlive(other.pid), 'running')
        await other.stop()
        t.notOk(groupAlive(other.pid), 'no process of the group left')
        t.notOk(existsSync(other.dir), 'temp dir removed')
        t.type(other.log(), 'string', 'log still readable after stop()')
        await other.stop() // idempotent
        t.equal(await canConnect(other.port), false, 'port closed')
      })
    })
  }
})

function canConnect (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

t.test('harness failure paths', async t => {
  if (skipWithoutBinaries(t, ['nginx', 'nghttp'])) return
  const upstream = await startUpstream()
  t.teardown(upstream.close)

  t.test('freePort gives a bindable port', async t => {
    const port = await freePort()
    const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0])
    t.ok(port >= 1024 && port < ephemeralLow, `${port} is below the ephemeral range (${ephemeralLow})`)
    const server = net.createServer()
    await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
    await new Promise(resolve => server.close(resolve))
  })

  t.test('a server that dies at startup: rejects with its log, leaves nothing', async t => {
    // nginx refuses a negative number: the config is invalid, the master exits at once
    const err = await startFailure(startProxy('nginx', { upstreamPort: upstream.port, maxPushes: -1 }))
    t.match(err.message, /^nginx \(nginx -p .*\) failed to start: exited early \(code 1, signal null\)\n.*invalid number/)
    t.notOk(existsSync(configDir(err)), 'temp dir removed')
  })

  t.test('a server that does not listen in time: rejects, stops it', async t => {
    const err = await startFailure(startProxy('nginx', { upstreamPort: upstream.port, startTimeoutMs: -1 }))
    t.match(err.message, /failed to start: not listening on 127\.0\.0\.1:\d+ after -1 ms/)
    t.notOk(existsSync(configDir(err)), 'temp dir removed')
  })

  t.test('binaries not in PATH: spawn errors are reported', async t => {
    const savedPath = process.env['PATH']
    process.env['PATH'] = '/nonexistent'
    try {
      await t.rejects(startProxy('h2o', { upstreamPort: upstream.port }), /h2o .*failed to start: spawn h2o ENOENT/)
      await t.rejects(nghttp(['http://127.0.0.1:1/']), { code: 'ENOENT' })
    } finally {
      process.env['PATH'] = savedPath
    }
  })

  t.test('nghttp outliving killAfterMs is killed', async t => {
    const proxy = await withProxy(t, 'nginx', { upstreamPort: upstream.port })
    const run = await get(proxy, ['/hang'], { timeoutMs: 0, killAfterMs: 300 })
    releaseHanging()
    t.match(run, { killed: true, exitCode: null, requests: [{ path: '/hang', status: null }] })
  })

  t.test('neverbleed folders: only new ones nobody holds are removed', async t => {
    // a private root: concurrent h2o proxies (other test files) must not see these fakes
    const root = mkdtempSync(path.join(os.tmpdir(), 'privsep-root-'))
    t.teardown(() => rmSync(root, { recursive: true, force: true }))
    const make = (name: string): string => {
      const dir = path.join(root, `openssl-privsep.${name}`)
      mkdirSync(dir)
      return dir
    }
    const old = make('old')
    const before = privsepDirs(root)
    const fresh = make('fresh')
    const held = make('held') // a live process (this one) listens on its socket, like a running neverbleed
    const server = net.createServer()
    await new Promise<void>(resolve => server.listen(path.join(held, '_'), resolve))
    t.teardown(() => new Promise(resolve => server.close(resolve)))
    make('fresh2')
    t.same(removeNewPrivsepDirs(before, root).sort(), [fresh, path.join(root, 'openssl-privsep.fresh2')])
    t.ok(existsSync(old), 'one from before is kept')
    t.ok(existsSync(held), 'one in use is kept')
    t.same([...privsepDirs(root)].sort(), ['openssl-privsep.held', 'openssl-privsep.old'])
  })

  t.test('an h2o proxy leaves no neverbleed folder of its own', async t => {
    if (skipWithoutBinaries(t, ['h2o'])) return
    const before = privsepDirs()
    const proxy = await startProxy('h2o', { upstreamPort: upstream.port })
    const during = privsepDirs()
    await proxy.stop()
    const left = [...privsepDirs()].filter(name => !before.has(name) && during.has(name))
    t.same(left, [], 'nothing new left behind')
  })

  t.test('stopGroup: SIGKILL when SIGTERM is ignored, no error when already gone', async t => {
    const stubborn = spawn('sh', ['-c', 'trap "" TERM; sleep 30 & wait; sleep 30'], { detached: true, stdio: 'ignore' })
    await new Promise(resolve => setTimeout(resolve, 100)) // let the trap be installed
    const begin = Date.now()
    await stopGroup(stubborn, 200)
    t.equal(stubborn.signalCode, 'SIGKILL')
    t.notOk(groupAlive(stubborn.pid as number), 'the background sleep is gone too')
    t.ok(Date.now() - begin < 3000)

    const quick = spawn('true', [], { detached: true, stdio: 'ignore' })
    await new Promise(resolve => quick.once('exit', resolve))
    await stopGroup(quick)
    t.equal(quick.exitCode, 0)
  })
})

async function startFailure (starting: Promise<RunningProxy>): Promise<Error> {
  const proxy = await starting.catch((err: Error) => err)
  if (proxy instanceof Error) return proxy
  await proxy.stop()
  throw new Error('the proxy started')
}

// the failed command line names the config file, inside the temp dir
function configDir (err: Error): string {
  return path.dirname(/ -c (\S+)/.exec(err.message)?.[1] ?? '/nonexistent/x')
}

// --- offline: parser on captured traces, binaries -------------------------------------

t.test('parseNghttpTrace on captured traces', async t => {
  for (const kind of KINDS) {
    t.test(`${kind} Link variants`, async t => {
      const result = fixture(`${kind}-link-variants`)
      assertLinkVariants(t, kind, result)
      t.match(result.pushes[0], {
        promisedStreamId: 2,
        associatedStreamId: request(result, '/books/1').streamId,
        authority: /^127\.0\.0\.1:\d+$/,
        requestHeaders: { 'user-agent': /^nghttp2\// }
      }, 'PUSH_PROMISE fields come from the header lines printed before the frame')
      t.match(result.goaways, [{ direction: 'send', errorCode: 'NO_ERROR' }], 'nghttp says goodbye')
    })
    t.test(`${kind} upstream 103`, async t => {
      assertEarlyHints(t, kind, fixture(`${kind}-early-hints`), false)
    })
    t.test(`${kind} duplicate`, async t => {
      assertDuplicate(t, kind, fixture(`${kind}-duplicate`))
    })
    t.test(`${kind} timeout`, async t => {
      const result = fixture(`${kind}-timeout`)
      t.match(request(result, '/hang'), { status: null, endStream: false, bodyBytes: 0 })
      t.match(result.messages, ['[ERROR] Timeout', /^Some requests were not processed/])
    })
  }
  t.test('apache with H2EarlyHints on', async t => {
    const result = fixture('apache-early-hints-on')
    assertEarlyHints(t, 'apache', result, true)
    // mod_http2 adds its push-policy header to the forwarded 103
    t.match(request(result, '/early').interim[0]?.headers, { 'push-policy': 'default' })
  })
  t.test('text that is no trace', async t => {
    t.same(parseNghttpTrace(''), { requests: [], pushes: [], promised: [], pushed: [], rstStreams: [], goaways: [], messages: [] })
    t.same(parseNghttpTrace('[ERROR] Could not connect to the address 127.0.0.1\n').messages, ['[ERROR] Could not connect to the address 127.0.0.1'])
  })
})

t.test('nghttpArgs', async t => {
  t.same(nghttpArgs(['http://x/a', 'http://x/b']), ['-nv', '--timeout=5000ms', 'http://x/a', 'http://x/b'])
  t.same(nghttpArgs(['http://x/a'], { headers: { 'x-a': '1', accept: 'application/json' }, timeoutMs: 250, maxConcurrentStreams: 3, noPush: true }),
    ['-nv', '--timeout=250ms', '--header=x-a: 1', '--header=accept: application/json', '--max-concurrent-streams=3', '--no-push', 'http://x/a'])
})

t.test('binaries', async t => {
  t.same(missingBinaries(['nginx', 'apache2', 'h2o', 'nghttp', 'sh']).filter(n => n === 'sh'), [], 'sh is found')
  t.same(missingBinaries(['sh', 'no-such-binary-xyz']), ['no-such-binary-xyz'])
  t.same(missingBinaries(['sh'], ''), ['sh'], 'only PATH, /usr/sbin and /sbin are searched')
  if (missingBinaries(['nginx']).length === 0) t.same(missingBinaries(['nginx'], ''), [], 'sbin is searched even when not in PATH')
  t.equal(installHint(['nginx', 'apache2', 'h2o', 'nghttp']), 'apt-get install nginx apache2 h2o nghttp2-client')
  t.equal(installHint(['nghttp', 'other']), 'apt-get install nghttp2-client other')

  const calls: string[] = []
  const stub: SkipTarget = {
    plan: (n, comment) => { calls.push(`plan ${n} ${comment}`) },
    fail: message => calls.push(`fail ${message}`)
  }
  const env = { PATH: '/nonexistent' }
  t.equal(skipWithoutBinaries(stub, ['sh'], { ...env, PATH: process.env['PATH'] ?? '' }), false, 'all present: run')
  t.equal(skipWithoutBinaries(stub, ['nghttp-not-here'], env), true, 'missing locally: skip')
  t.equal(skipWithoutBinaries(stub, ['nghttp-not-here'], { ...env, CI: '' }), true, 'empty CI counts as unset')
  t.equal(skipWithoutBinaries(stub, ['nghttp-not-here'], { ...env, CI: 'true' }), true, 'missing on CI: fail')
  t.same(calls, [
    'plan 0 missing nghttp-not-here: apt-get install nghttp-not-here',
    'plan 0 missing nghttp-not-here: apt-get install nghttp-not-here',
    'fail missing nghttp-not-here: apt-get install nghttp-not-here (CI is set, so this fails instead of skipping)'
  ])

  t.test('a real tap test is skipped with the apt-get command', async t => {
    const sub = t.test('needs a missing binary', async tt => {
      if (skipWithoutBinaries(tt, ['no-such-binary-xyz'], { PATH: '' })) return
      tt.fail('not reached')
    })
    await sub
  })
})
