/**
 * How long after a heal do the histories agree, by how long a host was cut off? (root only)
 *
 *   npx tsx bench/heal-probe.ts --cuts 1,2,3,5,8 --repeats 2
 *
 * Every host writes while one host is isolated for the given time; then the link heals, writing
 * has stopped, and the probe asks every host for the room until all agree (test/hosts/checker).
 * For each cut it prints the time to agreement and, at the heal, the TCP retransmission state of
 * the isolated host's connections (`ss -ti`: backoff, rto) — a silent cut leaves TCP backing off.
 */
import { execFileSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { loadavg } from 'node:os'
import { createSite, removeStaleSites } from '../test/hosts/site.ts'
import { Hosts, unmountStale } from '../test/hosts/hosts.ts'
import { check, type SendRecord } from '../test/hosts/checker.ts'

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '4' },
    cuts: { type: 'string', default: '1,2,3,4,6,8' },
    repeats: { type: 'string', default: '2' },
  },
})
removeStaleSites()
unmountStale()
const size = Number(values.hosts)
const site = createSite(size, { subnet: 11 })
const hosts = new Hosts(site)
process.once('SIGINT', () => void hosts.stop().finally(() => (site.remove(), process.exit(130))))
try {
  await hosts.start({ diskMb: 256 })
  let n = 0
  for (let r = 0; r < Number(values.repeats); r++) {
    for (const cutS of values.cuts.split(',').map(Number)) {
      const room = `probe-${n}`
      const victim = n % size
      n++
      const sends: SendRecord[] = []
      let writing = true
      const writer = async (host: number): Promise<void> => {
        for (let k = 0; writing; k++) {
          const text = `${room} h${host} #${k}`
          sends.push({ host, text, outcome: await hosts.send(host, room, text, 2_000) })
          await sleep(50)
        }
      }
      const writers = Array.from({ length: size }, (_, i) => writer(i))
      await sleep(1_000)
      site.isolate(victim)
      const cutAt = Date.now()
      await sleep(cutS * 1000)
      writing = false
      await Promise.all(writers)
      const ss = execFileSync('ip', ['netns', 'exec', site.ns(victim), 'ss', '-tin'], {
        encoding: 'utf8',
      })
      const backoffs = [...ss.matchAll(/backoff:(\d+)/g)].map((m) => Number(m[1]))
      const rtos = [...ss.matchAll(/ rto:(\d+)/g)].map((m) => Number(m[1]))
      site.heal()
      const healed = Date.now()
      let agreed: number | undefined
      for (;;) {
        const hist = await Promise.all(Array.from({ length: size }, (_, i) => hosts.read(i, room)))
        const since = Date.now() - healed
        if (check(sends, hist).ok) {
          agreed = since
          break
        }
        if (since > 60_000) break
        await sleep(100)
      }
      console.log(
        `cut h${victim} ${((healed - cutAt) / 1000).toFixed(1)} s: agreed ${agreed ?? 'never'} ms after heal; ` +
          `backoff at heal ${JSON.stringify(backoffs)} rto ${JSON.stringify(rtos)} (load ${loadavg()[0]!.toFixed(1)})`,
      )
    }
  }
} finally {
  await hosts.stop()
  site.remove()
}
