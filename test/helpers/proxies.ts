// Real HTTP/2 reverse proxies (nginx, Apache mod_http2, h2o) that turn upstream
// `Link: rel=preload` headers into HTTP/2 server pushes, for end-to-end tests.
// Each proxy runs in the foreground, as the leader of its own process group, from a
// config written into a fresh temp folder: nothing from /etc, no service manager.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, chmodSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export type ProxyKind = 'nginx' | 'apache' | 'h2o'

export interface ProxyOptions {
  upstreamPort: number
  /**
   * nginx: http2_max_concurrent_pushes N; h2o: http2-max-concurrent-requests-per-connection N+1.
   * Apache has no such setting (and a client SETTINGS_MAX_CONCURRENT_STREAMS does not cap it:
   * it sends its pushes one after the other), so startProxy('apache') rejects it.
   */
  maxPushes?: number
  /** Apache: H2EarlyHints on (forward upstream 103s). nginx 1.22 and h2o 2.2 have no switch for it. */
  earlyHints?: boolean
  /**
   * nginx only: keep nginx's default proxy buffers (one 4 KB page for all the upstream's
   * response headers, 502 beyond) instead of the 16k ones. Other kinds reject it.
   */
  nginxDefaultBuffers?: boolean
  /** how long to wait for the port to accept connections (default 10 s) */
  startTimeoutMs?: number
}

export interface RunningProxy {
  kind: ProxyKind
  port: number
  dir: string
  pid: number
  stop (): Promise<void>
  /** the server's stdout + stderr so far (kept after stop()) */
  log (): string
}

/** What a proxy's config is made from: `startProxy`'s options plus where and as whom it runs. */
export interface ProxyConfigInput {
  dir: string
  port: number
  upstreamPort: number
  maxPushes?: number | undefined
  earlyHints?: boolean | undefined
  nginxDefaultBuffers?: boolean | undefined
  /** running as root: the workers drop privileges to nobody */
  root: boolean
}

/** The config file a proxy reads, its text, and the command line that runs it in the foreground. */
export interface ServerCommand {
  file: string
  config: string
  command: string
  args: string[]
}

// --- configs (pure) -------------------------------------------------------------------

function nginxCommand (c: ProxyConfigInput): ServerCommand {
  const tmp = path.join(c.dir, 'tmp')
  const lines = [
    `daemon off; master_process on; worker_processes 1; pid ${c.dir}/nginx.pid;`,
    'error_log stderr warn;',
    // as root the workers must drop privileges; the temp dir is chmod 755 for them
    ...(c.root ? ['user nobody nogroup;'] : []),
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(t => `  ${t}_temp_path ${tmp}/${t};`),
    `  upstream app { server 127.0.0.1:${c.upstreamPort}; keepalive 8; }`,
    '  server {',
    // a cleartext `http2` listener speaks only prior-knowledge h2c (no HTTP/1.1)
    `    listen 127.0.0.1:${c.port} http2;`,
    '    http2_push_preload on;',
    ...(c.maxPushes === undefined ? [] : [`    http2_max_concurrent_pushes ${c.maxPushes};`]),
    // the default 4k buffer answers 502 as soon as the upstream headers (long Link) exceed it
    // (nginxDefaultBuffers keeps that default, to show it)
    ...(c.nginxDefaultBuffers === true ? [] : ['    proxy_buffer_size 16k; proxy_buffers 8 16k; proxy_busy_buffers_size 32k;']),
    '    location / {',
    '      proxy_pass http://app; proxy_http_version 1.1;',
    '      proxy_set_header Connection ""; proxy_set_header Host $http_host;',
    '    }',
    '  }',
    '}'
  ]
  const file = path.join(c.dir, 'nginx.conf')
  return { file, config: lines.join('\n') + '\n', command: 'nginx', args: ['-p', c.dir + '/', '-c', file, '-e', 'stderr'] }
}

function apacheCommand (c: ProxyConfigInput): ServerCommand {
  const modules = '/usr/lib/apache2/modules'
  const upstream = `http://127.0.0.1:${c.upstreamPort}/`
  const lines = [
    `ServerRoot ${c.dir}`,
    'ServerName 127.0.0.1',
    `PidFile ${c.dir}/apache.pid`,
    `DefaultRuntimeDir ${c.dir}`,
    `Mutex file:${c.dir}`,
    'ErrorLog /dev/stderr',
    'LogLevel warn',
    ...(c.root ? ['User nobody', 'Group nogroup'] : []),
    ...['mpm_event', 'authz_core', 'proxy', 'proxy_http', 'http2'].map(m => `LoadModule ${m}_module ${modules}/mod_${m}.so`),
    // one child process keeps the process group small and the startup fast
    // (the spare-thread bounds only silence AH10159, which the defaults trigger with one child)
    'StartServers 1', 'ServerLimit 1', 'ThreadsPerChild 25', 'MaxRequestWorkers 25',
    'MinSpareThreads 1', 'MaxSpareThreads 25',
    'H2Push on',
    ...(c.earlyHints === true ? ['H2EarlyHints on'] : []),
    `ProxyPass / ${upstream}`,
    `ProxyPassReverse / ${upstream}`,
    'ProxyPreserveHost on',
    `Listen 127.0.0.1:${c.port}`,
    `<VirtualHost 127.0.0.1:${c.port}>`,
    // H2Direct (prior knowledge) defaults to on for h2c
    '  Protocols h2c http/1.1',
    '</VirtualHost>'
  ]
  const file = path.join(c.dir, 'httpd.conf')
  return { file, config: lines.join('\n') + '\n', command: 'apache2', args: ['-d', c.dir, '-f', file, '-DFOREGROUND'] }
}

function h2oCommand (c: ProxyConfigInput): ServerCommand {
  const lines = [
    'error-log: /dev/stderr',
    'num-threads: 1',
    ...(c.root ? ['user: nobody'] : []),
    'http2-push-preload: ON',
    // the request stream itself counts against this limit, hence N + 1
    ...(c.maxPushes === undefined ? [] : [`http2-max-concurrent-requests-per-connection: ${c.maxPushes + 1}`]),
    'listen:',
    '  host: 127.0.0.1',
    `  port: ${c.port}`,
    'hosts:',
    '  default:',
    '    paths:',
    '      /:',
    `        proxy.reverse.url: http://127.0.0.1:${c.upstreamPort}/`,
    '        proxy.preserve-host: ON'
  ]
  const file = path.join(c.dir, 'h2o.conf')
  return { file, config: lines.join('\n') + '\n', command: 'h2o', args: ['-c', file] }
}

const builders: Record<ProxyKind, (c: ProxyConfigInput) => ServerCommand> = {
  nginx: nginxCommand,
  apache: apacheCommand,
  h2o: h2oCommand
}

/**
 * The config `startProxy(kind, ...)` writes, and how it runs it (pure: no I/O). Exported so
 * that docs and tests can check their config excerpts against what really runs.
 */
export function proxyCommand (kind: ProxyKind, input: ProxyConfigInput): ServerCommand {
  return builders[kind](input)
}

// --- ports ----------------------------------------------------------------------------

function tryListen (port: number): Promise<number | null> {
  return new Promise(resolve => {
    const server = net.createServer()
    server.once('error', () => resolve(null))
    server.listen(port, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

// start of the kernel's ephemeral range (listen(0), outgoing connections)
function ephemeralLow (): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]) || 32768
  } catch {
    return 32768
  }
}

/**
 * A TCP port free on 127.0.0.1 a moment ago. Picked at random BELOW the ephemeral range:
 * a port the kernel just handed to listen(0) is likely to be handed again to another test
 * process (an upstream on port 0) before the proxy binds it.
 */
export async function freePort (): Promise<number> {
  const high = ephemeralLow()
  const low = Math.max(1024, high - 20_000)
  for (let i = 0; i < 20; i++) {
    const port = await tryListen(low + Math.floor(Math.random() * (high - low)))
    if (port !== null) return port
  }
  const port = await tryListen(0)
  if (port === null) throw new Error('no free port on 127.0.0.1')
  return port
}

function canConnect (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { socket.destroy(); resolve(false) })
  })
}

// --- processes ------------------------------------------------------------------------

/**
 * True while a non-zombie process of process group `pgid` exists. `kill(-pgid, 0)` is not
 * enough: orphaned zombies (h2o's backtrace helper, for one) are reaped lazily by this
 * machine's init and would keep the group "alive".
 */
export function groupAlive (pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited while we were looking
    }
    // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true
  }
  return false
}

async function waitGroupGone (pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) return false
    await sleep(25)
  }
  return true
}

function signalGroup (pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal)
  } catch {
    // ESRCH: the group is already gone
  }
}

/**
 * SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once no member is left.
 * The grace is short on purpose: a test proxy has nothing to flush, and Apache's child
 * waits for workers still blocked on an upstream that never answers (its parent only
 * escalates after ~4 s), which would otherwise slow every such teardown down.
 */
export async function stopGroup (child: ChildProcess, graceMs = 2000): Promise<void> {
  const pid = child.pid as number
  const exited = child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>(resolve => child.once('exit', () => resolve()))
  signalGroup(pid, 'SIGTERM')
  if (!await waitGroupGone(pid, graceMs)) {
    signalGroup(pid, 'SIGKILL')
    await waitGroupGone(pid, 2000)
  }
  await exited
}

// h2o's neverbleed (the OpenSSL key-operation daemon) binds a socket in a fresh
// /tmp/openssl-privsep.XXXXXX (hard-coded /tmp, whatever TMPDIR says) and leaves the
// folder behind. Only h2o with TLS starts it, so h2c runs normally create none.
const PRIVSEP_PREFIX = 'openssl-privsep.'

/** Names of the neverbleed folders now in `root`. */
export function privsepDirs (root = '/tmp'): Set<string> {
  return new Set(readdirSync(root).filter(name => name.startsWith(PRIVSEP_PREFIX)))
}

// paths of the unix sockets some live process holds open: "Num: RefCount Protocol Flags Type St Inode Path"
function boundSocketPaths (): string[] {
  const lines = readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)
  return lines.map(line => /^\S+: (?:\S+ ){6}(.+)$/.exec(line)?.[1]).filter(p => p !== undefined)
}

/**
 * Remove the neverbleed folders of `root` that are not in `before` and whose socket no
 * live process holds: call it once this proxy's group is gone, so a socket still bound
 * belongs to another h2o running at the same time (another test file) and is kept.
 */
export function removeNewPrivsepDirs (before: Set<string>, root = '/tmp'): string[] {
  const bound = boundSocketPaths()
  const removed: string[] = []
  for (const name of privsepDirs(root)) {
    const dir = path.join(root, name)
    if (before.has(name) || bound.some(p => p.startsWith(dir + '/'))) continue
    rmSync(dir, { recursive: true, force: true })
    removed.push(dir)
  }
  return removed
}

function waitForExit (child: ChildProcess): Promise<never> {
  return new Promise((_resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`exited early (code ${code}, signal ${signal})`)))
    child.once('error', reject) // e.g. ENOENT: binary not installed
  })
}

async function waitListening (port: number, timeoutMs: number, died: Promise<never>): Promise<void> {
  let failure: Error | undefined
  died.catch((err: Error) => { failure = err })
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (failure !== undefined) throw failure
    if (Date.now() > deadline) throw new Error(`not listening on 127.0.0.1:${port} after ${timeoutMs} ms`)
    if (await canConnect(port)) return
    await sleep(25)
  }
}

/** Start `kind` in front of 127.0.0.1:upstreamPort on a free port, ready to take h2c connections. */
export async function startProxy (kind: ProxyKind, options: ProxyOptions): Promise<RunningProxy> {
  if (kind === 'apache' && options.maxPushes !== undefined) {
    throw new TypeError('maxPushes: Apache mod_http2 has no limit on the number of pushes')
  }
  if (kind !== 'nginx' && options.nginxDefaultBuffers !== undefined) {
    throw new TypeError(`nginxDefaultBuffers: only for nginx, not ${kind}`)
  }
  const port = await freePort()
  const dir = mkdtempSync(path.join(os.tmpdir(), `push-e2e-${kind}-`))
  // unprivileged workers (nobody) must be able to traverse it and read the config
  chmodSync(dir, 0o755)
  mkdirSync(path.join(dir, 'tmp'))
  const cmd = proxyCommand(kind, {
    dir,
    port,
    upstreamPort: options.upstreamPort,
    maxPushes: options.maxPushes,
    earlyHints: options.earlyHints,
    nginxDefaultBuffers: options.nginxDefaultBuffers,
    root: process.getuid?.() === 0
  })
  writeFileSync(cmd.file, cmd.config)
  const logFile = path.join(dir, 'server.log')
  // only h2o runs neverbleed; other kinds must not touch a concurrent h2o's folders
  const privsepBefore = kind === 'h2o' ? privsepDirs() : undefined
  const out = openSync(logFile, 'a')
  // detached: own process group, so stop() can signal the master and all its workers
  const child = spawn(cmd.command, cmd.args, { detached: true, stdio: ['ignore', out, out] })
  closeSync(out)

  let lastLog = ''
  const log = (): string => {
    try {
      lastLog = readFileSync(logFile, 'utf8')
    } catch {
      // removed by stop(): keep what we read last
    }
    return lastLog
  }

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.pid !== undefined) await stopGroup(child)
      log()
      rmSync(dir, { recursive: true, force: true })
      if (privsepBefore !== undefined) removeNewPrivsepDirs(privsepBefore)
    })()
    return stopping
  }

  try {
    await waitListening(port, options.startTimeoutMs ?? 10_000, waitForExit(child))
    // if another process took the port in between, the connection went to it: fail loudly
    // (nginx keeps retrying bind() for a while instead of exiting)
    if (log().includes('Address already in use')) throw new Error(`port ${port} taken by another process`)
  } catch (err) {
    await stop()
    throw new Error(`${kind} (${cmd.command} ${cmd.args.join(' ')}) failed to start: ${(err as Error).message}\n${log()}`)
  }
  return { kind, port, dir, pid: child.pid as number, stop, log }
}
