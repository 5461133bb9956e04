// Opens a cited source: a PDF at the cited page with the passage highlighted (PDF.js, loaded only now,
// reading the stored original with HTTP ranges), or for other formats the section's text with the
// passage marked. Always with a link to download the original.
import { get } from "./api.js";
import { clear, h } from "./ui.js";

const WORD = /[\p{L}\p{N}]+/gu;

function words(text) {
  return (text.toLowerCase().match(WORD) ?? []);
}

// The text-layer spans that belong to the passage: whole words of the span, in order, inside the
// passage's text (one word alone only if it is not a short one that any text has), and next to
// another such span — the same words elsewhere on the page (a heading, another table) stay unmarked.
export function passageSpans(spans, passage) {
  const wanted = ` ${words(passage).join(" ")} `;
  const inPassage = spans.map((span) => {
    const own = words(span.textContent);
    const phrase = own.join(" ");
    return phrase.length >= 3 && (own.length > 1 || /\d/.test(phrase) || phrase.length >= 5)
      && wanted.includes(` ${phrase} `);
  });
  const found = inPassage.filter(Boolean).length;
  const near = (i) => [-2, -1, 1, 2].some((d) => inPassage[i + d]);
  return spans.filter((_, i) => inPassage[i] && (found === 1 || near(i)));
}

let pdfjs;
async function loadPdfjs(assets) {
  if (!pdfjs) {
    pdfjs = await import(`${assets}/vendor/pdfjs/pdf.min.mjs`);
    pdfjs.GlobalWorkerOptions.workerSrc = `${assets}/vendor/pdfjs/pdf.worker.min.mjs`;
  }
  return pdfjs;
}

const opened = new Map(); // document id -> loading task, so flipping between citations reuses it

async function openPdf(assets, documentId) {
  if (!opened.has(documentId)) {
    const lib = await loadPdfjs(assets);
    opened.set(documentId, lib.getDocument({
      url: `/api/documents/${documentId}/file`, withCredentials: true,
      disableAutoFetch: true, disableStream: true, rangeChunkSize: 65536, isEvalSupported: false,
      standardFontDataUrl: `${assets}/vendor/pdfjs/standard_fonts/`, wasmUrl: `${assets}/vendor/pdfjs/wasm/`,
    }).promise);
  }
  return opened.get(documentId);
}

async function renderPage(box, lib, pdf, number, passage) {
  const page = await pdf.getPage(number);
  const width = Math.max(280, box.clientWidth - 8);
  const scale = width / page.getViewport({ scale: 1 }).width;
  const viewport = page.getViewport({ scale });
  const ratio = window.devicePixelRatio || 1;
  const canvas = h("canvas", { width: Math.floor(viewport.width * ratio), height: Math.floor(viewport.height * ratio),
                               "aria-hidden": "true" });
  canvas.style.width = `${viewport.width}px`;
  canvas.style.height = `${viewport.height}px`;
  const textLayer = h("div", { class: "textLayer" });
  const sheet = h("div", { class: "pdf-page", dataset: { page: number } }, canvas, textLayer);
  sheet.style.width = `${viewport.width}px`;
  sheet.style.height = `${viewport.height}px`;
  sheet.style.setProperty("--scale-factor", String(scale));
  sheet.style.setProperty("--total-scale-factor", String(scale));
  clear(box, sheet);
  await page.render({ canvasContext: canvas.getContext("2d"), viewport,
                      transform: ratio === 1 ? undefined : [ratio, 0, 0, ratio, 0, 0] }).promise;
  await new lib.TextLayer({ textContentSource: page.streamTextContent(), container: textLayer, viewport }).render();
  const spans = passageSpans([...textLayer.querySelectorAll("span")], passage);
  for (const span of spans) span.classList.add("passage");
  spans[0]?.scrollIntoView({ block: "center" });
  return spans.length;
}

function sectionView(box, section) {
  const items = section.chunks.map((chunk) => {
    const cited = chunk.id === section.chunk_id;
    return h(cited ? "mark" : "p", { class: cited ? "passage block" : "", dataset: { chunk: chunk.id } }, chunk.text);
  });
  clear(box, h("h3", {}, section.section.join(" › ") || section.title), ...items);
  box.querySelector(".passage")?.scrollIntoView({ block: "center" });
}

// source: an answer's source object; panel: the element to draw in.
export async function openSource(panel, source, assets, onClose) {
  const pages = source.page_end && source.page_end !== source.page ? `pages ${source.page}–${source.page_end}`
    : source.page ? `page ${source.page}` : "";
  const body = h("div", { class: "viewer-body", tabindex: "0", "aria-label": "Source" }, "Opening…");
  const pageLabel = h("span", { class: "page-label" }, pages);
  const nav = h("div", { class: "row" });
  clear(panel,
    h("div", { class: "viewer-head" },
      h("div", {}, h("strong", {}, source.title), source.edition ? ` · edition ${source.edition}` : "", " · ", pageLabel,
        source.section ? h("div", { class: "muted" }, source.section) : ""),
      h("div", { class: "row" },
        nav,
        h("a", { href: `/api/documents/${source.document_id}/file`, download: source.source, class: "button secondary" },
          "Download original"),
        h("button", { type: "button", class: "secondary", onclick: onClose, "aria-label": "Close source" }, "Close"))),
    body);
  panel.hidden = false;
  const section = await get(`/api/chunks/${source.chunk_id}/section`);
  const passage = section.chunks.find((c) => c.id === source.chunk_id)?.text ?? source.snippet;
  if (!/\.pdf$/i.test(source.source) || !source.page) {
    sectionView(body, section);
    return;
  }
  const lib = await loadPdfjs(assets);
  const pdf = await openPdf(assets, source.document_id);
  let current = source.page;
  const show = async (number) => {
    current = Math.min(Math.max(1, number), pdf.numPages);
    pageLabel.textContent = `page ${current} of ${pdf.numPages}`;
    await renderPage(body, lib, pdf, current, current >= source.page && current <= (source.page_end ?? source.page)
      ? passage : "");
  };
  clear(nav,
    h("button", { type: "button", class: "secondary", "aria-label": "Previous page", onclick: () => show(current - 1) }, "‹"),
    h("button", { type: "button", class: "secondary", "aria-label": "Next page", onclick: () => show(current + 1) }, "›"));
  await show(current);
}
