// An answer as safe HTML: Markdown by marked, sanitised by DOMPurify (a manual or a model can contain
// HTML), then [n] markers turned into citation buttons and the grounding check's marks highlighted.
import { Marked } from "../vendor/marked.esm.js";
import { h } from "./ui.js";

const MARKS = /\[(not in the cited passages|in the passages, but for another item)\]/g;
const CITATION = /\[(\d{1,2})\]/g;

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);

// HTML in an answer is shown as the text it is (a model quoting a manual's markup), never as markup;
// links and images from Markdown stay links (images are dropped below).
const parser = new Marked({ async: false, gfm: true, breaks: true,
                            renderer: { html: ({ text }) => escapeHtml(text) } });

function sanitise(html) {
  return window.DOMPurify.sanitize(html, {
    RETURN_DOM_FRAGMENT: true,
    FORBID_TAGS: ["style", "img", "form", "input", "button", "iframe", "svg", "math"],
    FORBID_ATTR: ["style"],
  });
}

function replaceInText(root, pattern, make) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const text = node.nodeValue;
    pattern.lastIndex = 0;
    if (!pattern.test(text)) continue;
    pattern.lastIndex = 0;
    const parts = [];
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      parts.push(text.slice(last, match.index), make(match));
      last = match.index + match[0].length;
    }
    parts.push(text.slice(last));
    node.replaceWith(...parts.map((p) => (typeof p === "string" ? document.createTextNode(p) : p)));
  }
}

// onCite(n) opens source n; only numbers that name a given source become links.
export function renderAnswer(text, sourceCount, onCite) {
  const fragment = sanitise(parser.parse(text));
  for (const link of fragment.querySelectorAll("a")) {
    link.setAttribute("rel", "noopener noreferrer");
    link.setAttribute("target", "_blank");
  }
  replaceInText(fragment, MARKS, (m) => h("mark", { class: "unsupported", title: "Grounding check" }, m[0]));
  replaceInText(fragment, CITATION, (m) => {
    const n = Number(m[1]);
    if (n < 1 || n > sourceCount) return m[0];
    return h("button", { type: "button", class: "cite", "aria-label": `Open source ${n}`,
                         onclick: () => onCite(n) }, `[${n}]`);
  });
  return fragment;
}
