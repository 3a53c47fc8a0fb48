/**
 * Merges several result files (`npm run bench` writes bench/results/run-*.json) into one Markdown
 * table: per measure, the median and the min–max over the runs, the target and whether the median
 * meets it, and the load average range.
 *
 *   npx tsx bench/summarize.ts bench/results/run-A.json bench/results/run-B.json …
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { meets, type BenchResult, type Row } from './lib/report.ts'

interface ResultFile {
  date: string
  results: BenchResult[]
}

const fmt = (x: number): string =>
  !Number.isFinite(x) ? String(x) : Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3)

export function summarise(files: readonly ResultFile[]): string {
  const byName = new Map<string, { row: Row; values: number[]; loads: number[] }>()
  for (const f of files) {
    for (const r of f.results) {
      for (const row of r.rows) {
        let e = byName.get(row.name)
        if (e === undefined) byName.set(row.name, (e = { row, values: [], loads: [] }))
        e.values.push(row.value)
        e.loads.push(...r.load)
      }
    }
  }
  const lines = [
    '| measure | median | min–max | unit | target | met |  load (1 min) |',
    '| --- | ---: | ---: | --- | --- | :---: | --- |',
  ]
  for (const [name, { row, values, loads }] of byName) {
    const sorted = [...values].sort((a, b) => a - b)
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!
    const ok = meets({ ...row, value: median })
    const target = row.target === undefined ? '' : `${row.target.op} ${row.target.value}`
    const unit = row.unit.replace(/\|/g, '/')
    const range = sorted.length > 1 ? `${fmt(sorted[0]!)}–${fmt(sorted[sorted.length - 1]!)}` : ''
    const load = `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`
    const mark = ok === undefined ? '' : ok ? 'yes' : '**no**'
    lines.push(`| ${name} | ${fmt(median)} | ${range} | ${unit} | ${target} | ${mark} | ${load} |`)
  }
  return lines.join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2).map((p) => JSON.parse(readFileSync(p, 'utf8')) as ResultFile)
  console.log(summarise(files))
}
