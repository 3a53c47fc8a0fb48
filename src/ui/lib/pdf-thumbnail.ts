/**
 * The first page of a PDF, rendered on the sender for its thumbnail (issue #5): pdf.js (and its
 * worker) load in chunks of their own, only when a PDF is attached. A PDF pdf.js cannot open — broken,
 * encrypted, not a PDF after all — gives no thumbnail and no console noise: the message shows the
 * plain file card.
 */
import {
  GlobalWorkerOptions,
  VerbosityLevel,
  getDocument,
  type PDFDocumentLoadingTask,
} from 'pdfjs-dist'
// the worker script as a separate asset (Vite `?url`): served from the app's own origin, offline too
import workerUrl from 'pdfjs-dist/build/pdf.worker.min.mjs?url'

/** Longest side the first page is drawn at (the thumbnail is scaled from it). */
const RENDER_SIDE = 480

/** Page 1 of `file` as a bitmap, or undefined when pdf.js cannot render it. */
export async function pdfFirstPage(file: Blob): Promise<ImageBitmap | undefined> {
  GlobalWorkerOptions.workerSrc = workerUrl
  let task: PDFDocumentLoadingTask | undefined
  try {
    task = getDocument({
      data: new Uint8Array(await file.arrayBuffer()),
      verbosity: VerbosityLevel.ERRORS,
      isEvalSupported: false,
      stopAtErrors: true,
    })
    const doc = await task.promise
    const page = await doc.getPage(1)
    const base = page.getViewport({ scale: 1 })
    const scale = RENDER_SIDE / Math.max(base.width, base.height, 1)
    const viewport = page.getViewport({ scale })
    const canvas = document.createElement('canvas')
    canvas.width = Math.max(1, Math.ceil(viewport.width))
    canvas.height = Math.max(1, Math.ceil(viewport.height))
    await page.render({ canvas, viewport }).promise
    return await createImageBitmap(canvas)
  } catch {
    return undefined // broken or encrypted: the plain file card
  } finally {
    await task?.destroy().catch(() => undefined)
  }
}
