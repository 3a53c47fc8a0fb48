// Loaded with NODE_OPTIONS=--import (where --cpu-prof is not allowed): profiles this process and
// writes a V8 CPU profile into $PARLEY_CPU_PROF_DIR when it exits. Used by bench/browser.ts --profile.
import { Session } from 'node:inspector'
import { writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.env.PARLEY_CPU_PROF_DIR
if (dir !== undefined) {
  const session = new Session()
  session.connect()
  session.post('Profiler.enable')
  session.post('Profiler.setSamplingInterval', { interval: 200 })
  session.post('Profiler.start')
  process.on('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (err) return
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, `node-${process.pid}.cpuprofile`), JSON.stringify(res.profile))
    })
  })
}
