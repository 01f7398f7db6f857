// Starts the official atproto test network without an AppView (an in-memory PLC directory
// plus a SQLite PDS) on loopback, prints one JSON line with its URLs, and runs until its
// standard input closes or it gets SIGTERM/SIGINT. Used by tests/pds/__init__.py.
//
// Anything but loopback is refused (and reported on stderr as "pds-netguard: blocked ..."),
// so the PDS can never reach plc.directory, an AppView or the internet.
//
// Set TMPDIR before starting: dev-env keeps its data under os.tmpdir() and never removes it.
import dns from 'node:dns'
import net from 'node:net'

const LOOPBACK_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost'])

function isLoopback(host) {
  if (host === undefined || host === null || host === '') return true // Node's default is localhost
  host = String(host).replace(/^\[|\]$/g, '').toLowerCase()
  if (LOOPBACK_NAMES.has(host)) return true
  if (net.isIPv4(host)) return host.startsWith('127.')
  if (net.isIPv6(host)) return host === '::1' || host.startsWith('::ffff:127.')
  return false
}

function blocked(what) {
  const msg = `pds-netguard: blocked ${what}; the test PDS may only use loopback`
  process.stderr.write(msg + '\n')
  const err = new Error(msg)
  err.code = 'ENETUNREACH'
  return err
}

const realConnect = net.Socket.prototype.connect
net.Socket.prototype.connect = function (...args) {
  let opts = args[0]
  if (Array.isArray(opts)) opts = opts[0] // internal normalized form [options, cb]
  let host
  if (opts !== null && typeof opts === 'object') {
    if (opts.path) return realConnect.apply(this, args) // Unix socket
    host = opts.host
  } else if (typeof opts === 'number' || /^\d+$/.test(String(opts))) {
    host = typeof args[1] === 'string' ? args[1] : undefined
  } else {
    return realConnect.apply(this, args) // a path: Unix socket
  }
  if (!isLoopback(host)) {
    const err = blocked(`a connection to ${host}`)
    process.nextTick(() => this.destroy(err))
    return this
  }
  return realConnect.apply(this, args)
}

const realLookup = dns.lookup
dns.lookup = function (hostname, ...rest) {
  const cb = rest[rest.length - 1]
  if (!isLoopback(hostname)) {
    const err = blocked(`a DNS lookup of ${hostname}`)
    process.nextTick(() => cb(err))
    return {}
  }
  return realLookup.call(this, hostname, ...rest)
}
const realPromiseLookup = dns.promises.lookup
dns.promises.lookup = async function (hostname, ...rest) {
  if (!isLoopback(hostname)) throw blocked(`a DNS lookup of ${hostname}`)
  return realPromiseLookup.call(this, hostname, ...rest)
}
for (const name of ['resolve', 'resolve4', 'resolve6', 'resolveTxt', 'resolveAny']) {
  const real = dns.promises[name]
  dns.promises[name] = async function (hostname, ...rest) {
    if (!isLoopback(hostname)) throw blocked(`a DNS query for ${hostname}`)
    return real.call(this, hostname, ...rest)
  }
  const realCb = dns[name]
  dns[name] = function (hostname, ...rest) {
    const cb = rest[rest.length - 1]
    if (!isLoopback(hostname)) {
      const err = blocked(`a DNS query for ${hostname}`)
      process.nextTick(() => cb(err))
      return
    }
    return realCb.call(this, hostname, ...rest)
  }
}

const { TestNetworkNoAppView } = await import('@atproto/dev-env')

const started = Date.now()
const network = await TestNetworkNoAppView.create({
  pds: process.env.PDS_PORT ? { port: Number(process.env.PDS_PORT) } : {},
  plc: process.env.PLC_PORT ? { port: Number(process.env.PLC_PORT) } : {},
})

let closing = false
async function shutdown(code) {
  if (closing) return
  closing = true
  try {
    await network.close()
  } catch (err) {
    process.stderr.write(`pds: error while closing: ${err}\n`)
  }
  process.exit(code)
}
process.on('SIGTERM', () => shutdown(0))
process.on('SIGINT', () => shutdown(0))
process.stdin.on('end', () => shutdown(0))
process.stdin.on('error', () => shutdown(0))
process.stdin.resume()

process.stdout.write(
  JSON.stringify({
    pds: network.pds.url,
    pds_port: network.pds.port,
    plc: network.plc.url,
    plc_port: network.plc.port,
    pid: process.pid,
    node: process.version,
    startup_ms: Date.now() - started,
  }) + '\n',
)
