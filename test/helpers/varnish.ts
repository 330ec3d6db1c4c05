// Real Varnish nodes for the cache-tag tests: `varnishd -F` in the foreground, as the leader
// of its own process group (manager and child), from a temp folder (-n) with the VCL that
// docs/caching.md shows, no admin port, no service manager.
import { spawn } from 'node:child_process'
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort, stopGroup } from './proxies.js'

export type VclKind = 'ban' | 'xkey'

export const CACHING_DOC = path.join(__dirname, '..', '..', 'docs', 'caching.md')
/** The backend port the guide's VCL names; the tests put their app's port there. */
export const DOC_BACKEND = '.port = "3000";'

/** The fenced block right after `<!-- vcl: KIND -->` in docs/caching.md. */
export function vclFromDocs (kind: VclKind, markdown = readFileSync(CACHING_DOC, 'utf8')): string {
  const lines = markdown.split('\n')
  const marker = lines.findIndex((line) => line.trim() === `<!-- vcl: ${kind} -->`)
  if (marker === -1 || !/^```/.test(lines[marker + 1] ?? '')) throw new Error(`docs/caching.md: no fenced block after <!-- vcl: ${kind} -->`)
  const end = lines.indexOf('```', marker + 2)
  if (end === -1) throw new Error(`docs/caching.md: the ${kind} VCL block is not closed`)
  return lines.slice(marker + 2, end).join('\n') + '\n'
}

/** The guide's VCL with the app's real port. */
export function vclFor (kind: VclKind, backendPort: number): string {
  const vcl = vclFromDocs(kind)
  if (!vcl.includes(DOC_BACKEND)) throw new Error(`docs/caching.md: the ${kind} VCL must name its backend with ${DOC_BACKEND}`)
  return vcl.replace(DOC_BACKEND, `.port = "${backendPort}";`)
}

export interface VarnishNode {
  port: number
  /** `http://127.0.0.1:PORT/`: where reads go, and purges. */
  url: string
  /** SIGSTOP to manager and child: connections are accepted by the kernel, never answered. */
  pause (): void
  resume (): void
  stop (): Promise<void>
  log (): string
}

function canConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { socket.destroy(); resolve(false) })
  })
}

/** Starts one Varnish node with `vcl`; resolves once it takes connections. */
export async function startVarnish (vcl: string): Promise<VarnishNode> {
  const port = await freePort()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'push-varnish-'))
  // as root, varnishd's child runs as vcache: it must reach the working folder
  chmodSync(dir, 0o755)
  const file = path.join(dir, 'default.vcl')
  writeFileSync(file, vcl)
  const logFile = path.join(dir, 'varnishd.log')
  const out = openSync(logFile, 'a')
  const args = ['-F', '-a', `127.0.0.1:${port}`, '-n', path.join(dir, 'n'), '-f', file, '-s', 'malloc,32m', '-T', 'none']
  const child = spawn('varnishd', args, { detached: true, stdio: ['ignore', out, out] })
  closeSync(out)
  const log = (): string => { try { return readFileSync(logFile, 'utf8') } catch { return '' } }
  const signal = (name: NodeJS.Signals): void => { process.kill(-(child.pid as number), name) }
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // a paused group would not act on SIGTERM
      try { signal('SIGCONT') } catch {}
      await stopGroup(child)
      rmSync(dir, { recursive: true, force: true })
    })()
    return stopping
  }
  let exited = false
  child.once('exit', () => { exited = true })
  const deadline = Date.now() + 20_000
  while (!await canConnect(port)) {
    if (exited || Date.now() > deadline) {
      const output = log()
      await stop()
      throw new Error(`varnishd ${args.join(' ')} did not start:\n${output}`)
    }
    await sleep(25)
  }
  return { port, url: `http://127.0.0.1:${port}/`, pause: () => { signal('SIGSTOP') }, resume: () => { signal('SIGCONT') }, stop, log }
}
