/**
 * The central servers an organisation would run instead of Parley, started on loopback by the bench
 * and stopped by their own pid: Debian's Prosody (XMPP group chat, its message archive in SQLite)
 * and a y-websocket relay (`@y/websocket-server`, documents persisted in LevelDB).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { until } from '../lib/clock.ts'
import { tempDir } from '../lib/report.ts'
import { MAM_PAGE } from './protocol.ts'

export interface Server {
  name: string
  port: number
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as { port: number }).port
  await new Promise((resolve) => srv.close(resolve))
  return port
}

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port })
    s.once('connect', () => (s.destroy(), resolve(true)))
    s.once('error', () => resolve(false))
  })

/** Stops `child` by its pid (TERM, then KILL after 5 s), then removes its directory. */
function own(child: ChildProcess, dispose: () => void): Server['stop'] {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))])
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
    dispose()
  }
}

/** Prosody with one virtual host (anonymous login) and a MUC component that archives every room. */
export async function startProsody(): Promise<Server> {
  const dir = tempDir('prosody')
  const port = await freePort()
  const data = join(dir.path, 'data')
  mkdirSync(data)
  chmodSync(dir.path, 0o777)
  chmodSync(data, 0o777)
  const config = join(dir.path, 'prosody.cfg.lua')
  writeFileSync(
    config,
    `-- written by bench/versus/servers.ts
run_as_root = true
daemonize = false
pidfile = "${dir.path}/prosody.pid"
data_path = "${data}"
certificates = "${dir.path}"
modules_enabled = { "saslauth"; "disco"; "ping" }
modules_disabled = { "s2s"; "offline"; "c2s_limits" }
c2s_ports = { ${port} }
c2s_interfaces = { "127.0.0.1" }
s2s_ports = {}
http_ports = {}
https_ports = {}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
log = { warn = "${dir.path}/prosody.log"; error = "${dir.path}/prosody.log" }
storage = "sql"
sql = { driver = "SQLite3", database = "prosody.sqlite" }
VirtualHost "localhost"
  authentication = "anonymous"
Component "conference.localhost" "muc"
  modules_enabled = { "muc_mam" }
  muc_log_by_default = true
  muc_log_all_rooms = true
  muc_room_locking = false
  muc_room_default_persistent = true
  max_archive_query_results = ${MAM_PAGE}
  max_history_messages = 0
`,
  )
  const child = spawn('prosody', ['--config', config, '-F'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const stop = own(child, () => dir.dispose())
  const missing = new Promise<never>((_, reject) =>
    child.once('error', (err) =>
      reject(
        new Error(
          `cannot run prosody (${err.message}): apt-get install -y prosody lua-dbi-sqlite3`,
        ),
      ),
    ),
  )
  try {
    await Promise.race([missing, until(() => accepts(port), 20_000, 'prosody to listen', 50)])
  } catch (err) {
    await stop()
    throw err
  }
  return { name: 'prosody', port, stop }
}

/** The y-websocket relay (its own `server.js`) on loopback, persisting documents in LevelDB. */
export async function startYws(): Promise<Server> {
  const dir = tempDir('yws')
  const port = await freePort()
  const script = fileURLToPath(import.meta.resolve('@y/websocket-server/utils')).replace(
    /utils\.js$/,
    'server.js',
  )
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), YPERSISTENCE: dir.path },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const stop = own(child, () => dir.dispose())
  try {
    await until(() => accepts(port), 20_000, 'y-websocket to listen', 50)
  } catch (err) {
    await stop()
    throw err
  }
  return { name: 'y-websocket', port, stop }
}
