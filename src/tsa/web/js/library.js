// Library (editors): upload many files with progress (bytes, then the server's parsing and indexing
// stages, live), replace, delete, search and filter.
import { del, get, upload } from "./api.js";
import { attempt, bytes, clear, confirmDialog, field, h, when } from "./ui.js";

const FINISHED = new Set(["ready", "failed"]);

export function stageText(d) {
  const of = (done, total) => (total ? ` ${done} of ${total}` : "");
  const stalled = d.stalled ? " — no progress for a while" : "";
  switch (d.stage) {
    case "queued": return `Waiting to be read${stalled}`;
    case "parsing": return `Reading pages${of(d.pages_done, d.pages_total)}${stalled}`;
    case "embedding": return `Indexing passages${of(d.chunks_done, d.chunks_total)}${stalled}`;
    case "publishing": return `Publishing${stalled}`;
    case "ready": return `Ready — ${d.chunk_count} passages${d.page_count ? `, ${d.page_count} pages` : ""}`
      + (d.superseded ? " (superseded by a newer edition)" : "");
    case "failed": return `Failed: ${d.error ?? "unknown reason"}`;
    default: return d.status;
  }
}

function fraction(d) {
  if (d.stage === "ready") return 1;
  if (d.stage === "parsing" && d.pages_total) return 0.5 * d.pages_done / d.pages_total;
  if (d.stage === "embedding" && d.chunks_total) return 0.5 + 0.45 * d.chunks_done / d.chunks_total;
  if (d.stage === "publishing") return 0.95;
  return 0;
}

export async function libraryPage(view, ctx) {
  const following = new Map(); // document id -> EventSource
  let documents = [];
  let collections = [];
  const rows = h("tbody");
  const uploads = h("ul", { class: "uploads", "aria-label": "Uploads" });
  const search = h("input", { type: "search", placeholder: "Title or file name" });
  const statusFilter = h("select", {}, ...["all", "ready", "processing", "failed"].map((s) => h("option", { value: s }, s)));
  const collectionSelect = h("select", { name: "collection" });
  const product = h("input", { name: "product", maxlength: 200, placeholder: "optional" });
  const edition = h("input", { name: "edition", maxlength: 50, placeholder: "read from the title page" });
  const picker = h("input", { type: "file", multiple: true, class: "sr-only", tabindex: "-1", "aria-hidden": "true" });

  const collectionName = (id) => collections.find((c) => c.id === id)?.name ?? String(id);

  function follow(documentId, onChange) {
    if (following.has(documentId)) return;
    const source = new EventSource(`/api/documents/${documentId}/events`);
    following.set(documentId, source);
    const stop = () => { source.close(); following.delete(documentId); };
    source.addEventListener("progress", (e) => onChange(JSON.parse(e.data)));
    source.addEventListener("end", () => { stop(); refresh(); });
    source.addEventListener("deleted", () => { stop(); refresh(); });
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) following.delete(documentId); };
  }

  function render() {
    const q = search.value.trim().toLowerCase();
    const wanted = statusFilter.value;
    const shown = documents.filter((d) => (!q || `${d.title} ${d.source}`.toLowerCase().includes(q))
      && (wanted === "all" || d.status === wanted));
    clear(rows, ...shown.map((d) => {
      const editable = collections.find((c) => c.id === d.collection_id)?.may_edit !== false;
      const replace = h("input", { type: "file", class: "sr-only", "aria-label": `Replace ${d.source}` });
      replace.addEventListener("change", () => replace.files[0] && send(replace.files[0], d.source, collectionName(d.collection_id)));
      return h("tr", { dataset: { id: d.id, status: d.status } },
        h("td", {}, h("strong", {}, d.title), h("div", { class: "muted small" }, d.source)),
        h("td", {}, collectionName(d.collection_id)),
        h("td", {}, d.edition ?? ""),
        h("td", { class: "status" }, h("progress", { max: 1, value: fraction(d), "aria-label": `Progress of ${d.source}` }),
          h("div", { class: `stage ${d.stage}` }, stageText(d))),
        h("td", {}, bytes(d.size_bytes)),
        h("td", {}, when(d.updated_at)),
        h("td", { class: "actions" }, editable ? [
          h("label", { class: "button secondary" }, "Replace", replace),
          h("button", { type: "button", class: "danger", "aria-label": `Delete ${d.source}`, onclick: async () => {
            if (!(await confirmDialog(`Delete “${d.title}” (${d.source})? Answers stop citing it at once.`))) return;
            if (await attempt(() => del(`/api/documents/${d.id}`), "Not deleted") !== undefined) refresh();
          } }, "Delete")] : ""));
    }));
  }

  async function refresh() {
    const listed = await attempt(() => get("/api/documents?limit=1000"), "Documents could not be listed");
    if (!listed) return;
    documents = listed.documents;
    for (const d of documents) {
      if (!FINISHED.has(d.stage)) follow(d.id, (changed) => {
        documents = documents.map((x) => (x.id === changed.id ? changed : x));
        render();
      });
    }
    render();
  }

  async function send(file, name = file.name, collection = collectionSelect.value) {
    const bar = h("progress", { max: 1, value: 0, "aria-label": `Upload of ${name}` });
    const line = h("span", { class: "stage" }, "Sending…");
    uploads.prepend(h("li", {}, h("strong", {}, name), " ", bar, " ", line));
    const form = new FormData();
    form.append("file", file, name);
    form.append("collection", collection);
    if (product.value.trim()) form.append("product", product.value.trim());
    if (edition.value.trim()) form.append("edition", edition.value.trim());
    try {
      const sent = await upload("/api/documents", form, (loaded, total) => {
        bar.value = loaded / total;
        line.textContent = `Sending… ${bytes(loaded)} of ${bytes(total)}`;
      });
      bar.value = 1;
      if (sent.duplicate) { line.textContent = "Already in the library (same content)."; return; }
      line.textContent = "Sent — waiting to be read";
      follow(sent.document_id, (d) => {
        bar.value = fraction(d);
        line.textContent = stageText(d);
        line.className = `stage ${d.stage}`;
        documents = [d, ...documents.filter((x) => x.id !== d.id)];
        render();
      });
    } catch (error) {
      line.textContent = `Not uploaded: ${error.message}`;
      line.className = "stage failed";
    }
  }

  const sendAll = (files) => { for (const file of files) send(file); };
  picker.addEventListener("change", () => { sendAll([...picker.files]); picker.value = ""; });
  // The drop target is not a control itself; the button inside it opens the file chooser.
  const drop = h("div", { class: "dropzone",
    ondragover: (e) => { e.preventDefault(); e.currentTarget.classList.add("over"); },
    ondragleave: (e) => e.currentTarget.classList.remove("over"),
    ondrop: (e) => { e.preventDefault(); e.currentTarget.classList.remove("over"); sendAll([...e.dataTransfer.files]); },
  }, h("p", {}, "Drop manuals here (PDF, DOCX, HTML, Markdown, text), or"),
  h("button", { type: "button", onclick: () => picker.click() }, "Choose files"));
  search.addEventListener("input", render);
  statusFilter.addEventListener("change", render);

  clear(view, h("div", { class: "library" },
    h("h1", {}, "Library"),
    h("section", { class: "upload", "aria-label": "Upload" },
      h("div", { class: "row wrap" }, field("Collection", collectionSelect), field("Product (optional)", product),
        field("Edition (optional)", edition)),
      drop, picker, uploads),
    h("section", { "aria-label": "Documents" },
      h("div", { class: "row wrap" }, field("Search", search), field("Status", statusFilter)),
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Documents table" }, h("table", {},
        h("thead", {}, h("tr", {}, ...["Document", "Collection", "Edition", "Status", "Size", "Updated", ""]
          .map((t) => h("th", { scope: "col" }, t)))),
        rows)))));
  const listed = await attempt(() => get("/api/collections"), "Collections could not be listed");
  collections = (listed?.collections ?? []).map((c) => ({ ...c, may_edit: c.may_edit ?? true }));
  const editable = collections.filter((c) => c.may_edit);
  clear(collectionSelect, ...editable.map((c) => h("option", { value: c.name }, c.name)));
  if (!editable.length) {
    view.querySelector(".upload").replaceChildren(h("p", { class: "notice" },
      "You may not add documents to any collection yet: an admin can grant you edit rights on one."));
  }
  await refresh();
  return () => { for (const source of following.values()) source.close(); };
}
