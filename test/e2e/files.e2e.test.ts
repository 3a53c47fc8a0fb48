/**
 * Sharing files in real headless Chromium against a real `parley serve` (issue #5): an image with
 * its sender-made thumbnail, opened full size and downloaded byte-identical; a 50 MB file downloaded
 * with a matching SHA-256; a pasted screenshot; a 1 MB text collapsed, then whole.
 * Screenshots: test-results/e2e-files-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32, deflateSync } from 'node:zlib'
import type { BrowserContext, Page } from 'playwright-core'
import {
  screenshot,
  signUp,
  startChromium,
  startServe,
  type E2EBrowser,
  type ServePeer,
} from './harness.ts'

/** A `w`×`h` RGB PNG of a gradient with noise (so it does not compress to nothing). */
function png(w: number, h: number): Buffer {
  const raw = Buffer.alloc((w * 3 + 1) * h)
  const noise = randomBytes(w * h)
  for (let y = 0; y < h; y++) {
    const row = y * (w * 3 + 1)
    for (let x = 0; x < w; x++) {
      const o = row + 1 + x * 3
      raw[o] = (x * 255) / w
      raw[o + 1] = (y * 255) / h
      raw[o + 2] = noise[y * w + x]! & 0x3f
    }
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([len, body, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr.set([8, 2, 0, 0, 0], 8) // 8-bit RGB
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  return Buffer.concat([
    sig,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

/** A minimal valid one-page PDF (A4-ish) with a filled rectangle, its xref offsets computed. */
function pdf(): Buffer {
  const content = '0.2 0.4 0.9 rg 60 500 300 200 re f 0 0 0 rg 60 300 400 40 re f'
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
  ]
  let out = '%PDF-1.4\n'
  const offsets: number[] = []
  objects.forEach((body, i) => {
    offsets.push(out.length)
    out += `${i + 1} 0 obj\n${body}\nendobj\n`
  })
  const xref = out.length
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  return Buffer.from(out, 'latin1')
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('files end to end (Chromium + parley serve)', () => {
  let serve: ServePeer
  let chrome: E2EBrowser
  let ctxA: BrowserContext
  let ctxB: BrowserContext
  let a: Page
  let b: Page
  let dir: string

  const attachment = (page: Page, name: string) =>
    page.getByTestId('attachment').filter({ has: page.getByTestId('file-name').getByText(name) })

  /** Clicks `button` on `page` and returns the downloaded file's bytes. */
  async function download(page: Page, click: () => Promise<void>, timeout = 20_000) {
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout }), click()])
    const path = join(dir, `dl-${Date.now()}`)
    await dl.saveAs(path)
    return { name: dl.suggestedFilename(), bytes: readFileSync(path) }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-e2e-files-'))
    serve = await startServe()
    chrome = await startChromium()
    ctxA = await chrome.context()
    ctxB = await chrome.context()
    a = await ctxA.newPage()
    b = await ctxB.newPage()
    await a.goto(serve.url)
    await signUp(a, 'alice', 'Alice Smith', 'correct horse')
    await b.goto(serve.url)
    await signUp(b, 'bob', 'Bob Jones', 'battery staple')
  })
  afterAll(async () => {
    await chrome?.stop()
    await serve?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('[F-E2E1] an image: thumbnail at the receiver, full image in a lightbox, byte-identical download', async () => {
    const image = png(640, 480)
    await a
      .getByTestId('file-input')
      .setInputFiles({ name: 'chart.png', mimeType: 'image/png', buffer: image })
    const att = attachment(b, 'chart.png')
    await att.getByTestId('thumb').waitFor({ timeout: 30_000 })
    const thumb = await att.getByTestId('thumb').getAttribute('src')
    expect(thumb).toMatch(/^data:image\/(webp|jpeg);base64,/)
    expect(thumb!.length).toBeLessThanOrEqual(64 * 1024)
    await screenshot(b, 'e2e-files-1-thumbnail')

    await att.getByTestId('thumb-button').focus()
    await b.keyboard.press('Enter') // reachable by keyboard
    const full = b.getByTestId('lightbox-image')
    await full.waitFor({ timeout: 30_000 })
    await expect.poll(() => full.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(640)
    await screenshot(b, 'e2e-files-1-lightbox')
    const got = await download(b, () => b.getByTestId('lightbox-download').click())
    expect(got.name).toBe('chart.png')
    expect(got.bytes.equals(image)).toBe(true)
    await b.keyboard.press('Escape')
    await b.getByTestId('lightbox').waitFor({ state: 'detached' })
  })

  it('[F-E2E2] a pasted screenshot shows as an image', async () => {
    await a.getByTestId('composer').focus()
    await a.evaluate(async () => {
      const canvas = new OffscreenCanvas(300, 200)
      const g = canvas.getContext('2d')!
      g.fillStyle = '#2f6fde'
      g.fillRect(0, 0, 300, 200)
      g.fillStyle = '#fff'
      g.fillRect(40, 40, 120, 60)
      const blob = await canvas.convertToBlob({ type: 'image/png' })
      const dt = new DataTransfer()
      dt.items.add(new File([blob], 'image.png', { type: 'image/png' }))
      const ev = new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true })
      document.querySelector('[data-testid=composer]')!.dispatchEvent(ev)
    })
    await attachment(b, 'image.png').getByTestId('thumb').waitFor({ timeout: 30_000 })
    expect(await a.getByTestId('composer').inputValue()).toBe('')
    await screenshot(b, 'e2e-files-2-pasted')
  })

  it('[F-E2E6] a PDF: its first page is the thumbnail, made on the sender; a broken PDF is a plain file card, quietly', async () => {
    const noise: string[] = []
    a.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') noise.push(m.text())
    })
    a.on('pageerror', (e) => noise.push(e.message))
    await a
      .getByTestId('file-input')
      .setInputFiles({ name: 'report.pdf', mimeType: 'application/pdf', buffer: pdf() })
    const att = attachment(b, 'report.pdf')
    await att.getByTestId('thumb').waitFor({ timeout: 30_000 })
    expect(await att.getByTestId('thumb').getAttribute('src')).toMatch(
      /^data:image\/(webp|jpeg);base64,/,
    )
    const size = await att
      .getByTestId('thumb')
      .evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])
    expect(size[1]!).toBeGreaterThan(size[0]!) // portrait, like the page
    await screenshot(b, 'e2e-files-6-pdf')

    await a.getByTestId('file-input').setInputFiles({
      name: 'broken.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('%PDF-1.4\nthis is not really a pdf\n%%EOF\n'),
    })
    const broken = attachment(b, 'broken.pdf')
    await broken.getByTestId('download').waitFor({ timeout: 30_000 })
    expect(await broken.getByTestId('thumb').count()).toBe(0)
    expect(noise.filter((t) => /pdf/i.test(t))).toEqual([])
  })

  it('[F-E2E3] a 50 MB file: upload progress, download with a matching SHA-256', async () => {
    const bytes = randomBytes(50 * 1024 * 1024)
    const path = join(dir, 'data.bin')
    writeFileSync(path, bytes)
    await a.getByTestId('file-input').setInputFiles(path)
    await a
      .locator('[data-testid=transfer][data-direction=up][data-state=done]')
      .filter({ hasText: 'data.bin' })
      .waitFor({ timeout: 60_000 })
    const att = attachment(b, 'data.bin')
    await att.waitFor({ timeout: 30_000 })
    await expect(att.getByTestId('file-info').textContent()).resolves.toContain('52.4 MB')
    const got = await download(
      b,
      async () => {
        await att.getByTestId('download').click()
        await att.getByTestId('transfer').waitFor()
        await screenshot(b, 'e2e-files-4-downloading')
      },
      90_000,
    )
    expect(got.name).toBe('data.bin')
    expect(got.bytes.length).toBe(bytes.length)
    expect(sha256(got.bytes)).toBe(sha256(bytes))
    await screenshot(b, 'e2e-files-4-downloaded')
  })

  it('[F-E2E4] a 1 MB text shows collapsed with "show more", then whole', async () => {
    const line = (i: number) => `${String(i).padStart(6, '0')} INFO request served in 12 ms\n`
    let text = ''
    for (let i = 0; text.length < 1_000_000; i++) text += line(i)
    // As a paste of a long log puts it: the whole value at once, then one input event.
    await a.getByTestId('composer').evaluate((el: HTMLTextAreaElement, t) => {
      el.value = t
      el.dispatchEvent(new Event('input', { bubbles: true }))
    }, text)
    await a.getByTestId('composer').press('Enter')
    const long = b.getByTestId('long-text').last()
    await long.waitFor({ timeout: 30_000 })
    const shown = (await long.getByTestId('long-text-body').textContent())!.trim()
    expect(shown.length).toBeLessThan(5_000)
    expect(text.startsWith(shown)).toBe(true)
    await screenshot(b, 'e2e-files-3-collapsed')
    await long.getByTestId('show-more').click()
    await b.locator('[data-testid=long-text][data-expanded=true]').waitFor({ timeout: 30_000 })
    const whole = await long.getByTestId('long-text-body').evaluate((el) => el.textContent!.trim())
    expect(whole).toBe(text.trim())
  })
})
