// Starts a real `appwheel dev` for the integration tests.
//
// The binary is built from this repository (the Go module three levels up:
// sdk/js/test -> repo root) with `go build -o <tmp>/appwheel ./cmd/appwheel`,
// or taken from $APPWHEEL_BIN. It is run as
//   appwheel dev --addr 127.0.0.1:0 --data-dir <tmp>/data
// (port 0: the API binds a free port, and the Stripe sandbox another), and
// the facts it writes to <data-dir>/dev.json (appId, platform, appSecret,
// baseUrl, stripeApiBase, stripeSecretKey, prices) tell the tests where it is.
// Ready means dev.json exists and GET {baseUrl}/readyz answers 200.
import { spawn, execFile } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function tail(path, n = 4000) {
  try {
    const s = readFileSync(path, 'utf8')
    return s.length > n ? '…' + s.slice(-n) : s
  } catch {
    return ''
  }
}

// buildBinary compiles cmd/appwheel into dir and returns the binary's path.
export async function buildBinary(dir) {
  if (process.env.APPWHEEL_BIN) return process.env.APPWHEEL_BIN
  const out = join(dir, process.platform === 'win32' ? 'appwheel.exe' : 'appwheel')
  try {
    await promisify(execFile)('go', ['build', '-o', out, './cmd/appwheel'], {
      cwd: repoRoot,
      maxBuffer: 16 << 20,
    })
  } catch (err) {
    if (err.code === 'ENOENT') {
      throw new Error('the integration tests build appwheel with Go: install Go, or set APPWHEEL_BIN to a built binary')
    }
    throw new Error(`go build ./cmd/appwheel failed in ${repoRoot}:\n${err.stderr || err.message}`)
  }
  return out
}

/**
 * Builds and starts `appwheel dev` on free ports in a fresh temporary data
 * directory, with args as more of dev's flags (e.g. --notify-url). Resolves
 * to { dev, baseUrl, dataDir, stop, buildMs, startMs },
 * where dev is dev.json's content; stop() sends SIGINT, waits for the exit
 * (SIGKILL after 15 s) and removes the temporary directory.
 */
export async function startDevServer({ readyTimeoutMs = 60000, args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'appwheel-js-sdk-'))
  const dataDir = join(dir, 'data')
  const logPath = join(dir, 'appwheel.log')
  let child
  let exited = null // { code, signal } or { error } once the process is gone
  let exitedPromise
  // Never leave the server or its files behind, even if the test process dies.
  const onExit = () => {
    child?.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const t0 = Date.now()
    const bin = await buildBinary(dir)
    const buildMs = Date.now() - t0

    // Flags win over the environment, but not every setting has a flag here:
    // keep the caller's APPWHEEL_* (e.g. APPWHEEL_DATABASE_URL) out of it.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('APPWHEEL_')))
    const log = openSync(logPath, 'a')
    child = spawn(bin, ['dev', '--addr', '127.0.0.1:0', '--data-dir', dataDir, ...args], {
      cwd: dir,
      env,
      stdio: ['ignore', log, log],
    })
    closeSync(log)
    process.once('exit', onExit)
    exitedPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exited = { code, signal }
        resolve(exited)
      })
      child.once('error', (err) => {
        exited = { error: err }
        resolve(exited)
      })
    })

    const t1 = Date.now()
    const devPath = join(dataDir, 'dev.json')
    let dev
    for (;;) {
      if (exited) throw new Error(`appwheel dev exited early (${JSON.stringify(exited)}):\n${tail(logPath)}`)
      if (Date.now() - t1 > readyTimeoutMs) throw new Error(`appwheel dev not ready after ${readyTimeoutMs} ms:\n${tail(logPath)}`)
      if (!dev && existsSync(devPath)) {
        try {
          dev = JSON.parse(readFileSync(devPath, 'utf8')) // written atomically (rename), but be safe
        } catch {
          dev = undefined
        }
      }
      if (dev) {
        try {
          const res = await fetch(dev.baseUrl + '/readyz', { signal: AbortSignal.timeout(2000) })
          await res.arrayBuffer()
          if (res.status === 200) break
        } catch {
          // not listening yet
        }
      }
      await sleep(50)
    }
    const startMs = Date.now() - t1

    let stopped
    const stop = () => {
      stopped ??= (async () => {
        if (!exited) {
          child.kill('SIGINT')
          const timer = setTimeout(() => child.kill('SIGKILL'), 15000)
          await exitedPromise
          clearTimeout(timer)
        }
        process.removeListener('exit', onExit)
        rmSync(dir, { recursive: true, force: true })
        return exited
      })()
      return stopped
    }
    return { dev, baseUrl: dev.baseUrl, dataDir, logPath, stop, buildMs, startMs, log: () => tail(logPath, 20000) }
  } catch (err) {
    if (child && !exited) {
      child.kill('SIGKILL')
      await exitedPromise
    }
    process.removeListener('exit', onExit)
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}
