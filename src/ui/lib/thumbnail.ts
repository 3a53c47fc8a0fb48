/**
 * Thumbnails made on the sender (issue #5): a picked image is decoded once (`createImageBitmap`),
 * drawn scaled down on an `OffscreenCanvas` and encoded as a small WebP (JPEG where WebP encoding
 * is missing), tried at falling sizes and qualities until its data URL fits the attachment
 * record's bound (`MAX_THUMB_CHARS`). The full image is never sent in the message itself. A PDF's
 * thumbnail is its first page, rendered by pdf.js (src/ui/lib/pdf-thumbnail.ts, loaded only then).
 */

import { MAX_THUMB_CHARS } from '../../core/index.ts'

const TRIES: readonly [number, number][] = [
  [480, 0.8],
  [360, 0.7],
  [240, 0.6],
  [160, 0.5],
]
/** Images are decoded for a thumbnail up to this size (larger ones show as files). */
const MAX_DECODE_BYTES = 64 * 1024 * 1024

/** Media types browsers decode into a bitmap. */
export const isPreviewable = (type: string): boolean =>
  /^image\/(png|jpeg|gif|webp|avif|bmp)$/.test(type)

/** Whether `file` is a PDF (by its media type). */
export const isPdf = (type: string): boolean => type === 'application/pdf'

async function bitmapOf(file: Blob): Promise<ImageBitmap | undefined> {
  if (isPdf(file.type)) return (await import('./pdf-thumbnail.ts')).pdfFirstPage(file)
  if (!isPreviewable(file.type)) return undefined
  try {
    return await createImageBitmap(file)
  } catch {
    return undefined // not decodable here: shown as a file with a download button
  }
}

/**
 * A data-URL thumbnail of `file` (an image, or a PDF's first page), or undefined when this browser
 * cannot make one.
 */
export async function makeThumbnail(file: Blob): Promise<string | undefined> {
  if (file.size > MAX_DECODE_BYTES) return undefined
  const bitmap = await bitmapOf(file)
  if (bitmap === undefined) return undefined
  try {
    for (const [side, quality] of TRIES) {
      const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height))
      const w = Math.max(1, Math.round(bitmap.width * scale))
      const h = Math.max(1, Math.round(bitmap.height * scale))
      const canvas = new OffscreenCanvas(w, h)
      canvas.getContext('2d')?.drawImage(bitmap, 0, 0, w, h)
      let blob = await canvas.convertToBlob({ type: 'image/webp', quality })
      if (blob.type !== 'image/webp')
        blob = await canvas.convertToBlob({ type: 'image/jpeg', quality })
      const url = await dataUrl(blob)
      if (url.length <= MAX_THUMB_CHARS) return url
    }
    return undefined
  } finally {
    bitmap.close()
  }
}

function dataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader()
    r.onload = () => resolve(String(r.result))
    r.onerror = () => reject(r.error ?? new Error('cannot read the thumbnail'))
    r.readAsDataURL(blob)
  })
}
