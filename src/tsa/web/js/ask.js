// Ask: a conversation with the manuals. Tokens appear as they stream; the finished answer is rendered
// as sanitised Markdown with [n] linked to its sources; warnings it relies on are shown first.
import { del, get, post, postEvents } from "./api.js";
import { renderAnswer } from "./markdown.js";
import { attempt, clear, confirmDialog, field, h, toast, when } from "./ui.js";
import { openSource } from "./viewer.js";

// Pressing Enter to the first token drawn, per question (read by the browser benchmark).
window.tsaTimings = window.tsaTimings ?? [];

const HAZARD_ORDER = { DANGER: 3, WARNING: 2, CAUTION: 1 };

function newConversationId() {
  return crypto.randomUUID();
}

// A web page: a plain link out, labelled W1, W2 … so it is never taken for a manual.
function webSourceLine(source) {
  return h("li", { class: "source web", dataset: { label: source.label } },
    h("a", { href: source.url, target: "_blank", rel: "noopener noreferrer" },
      h("span", { class: "source-n" }, `[${source.label}]`), " ", h("strong", {}, source.title)),
    h("span", { class: "badge" }, "web"),
    source.hazard ? h("span", { class: `badge ${source.hazard.toLowerCase()}` }, source.hazard) : "",
    h("div", { class: "muted small" }, `${new URL(source.url).hostname} · retrieved ${source.retrieved_at}`),
    h("div", { class: "snippet" }, source.snippet));
}

function sourceLine(source, n, onOpen) {
  if (source.kind === "web") return webSourceLine(source);
  const pages = source.page_end && source.page_end !== source.page ? `pp. ${source.page}–${source.page_end}`
    : source.page ? `p. ${source.page}` : "";
  return h("li", { class: `source${source.hazard ? " hazard" : ""}`, dataset: { n } },
    h("button", { type: "button", class: "source-open", onclick: () => onOpen(n) },
      h("span", { class: "source-n" }, `[${n}]`), " ",
      h("strong", {}, source.title),
      source.edition ? h("span", { class: "muted" }, ` · ed. ${source.edition}`) : "",
      pages ? h("span", { class: "muted" }, ` · ${pages}`) : "",
      source.superseded ? h("span", { class: "badge" }, "superseded") : ""),
    source.hazard ? h("span", { class: `badge ${source.hazard.toLowerCase()}` }, source.hazard) : "",
    source.section ? h("div", { class: "muted small" }, source.section) : "",
    h("div", { class: "snippet" }, source.snippet));
}

// The warnings the answer relies on: of the passages it cites, or of all it was given when it cites none.
function hazardBox(sources, cited) {
  const relied = (cited?.length ? cited : sources.map((_, i) => i + 1))
    .map((n) => [n, sources[n - 1]]).filter(([, s]) => s?.hazard)
    .sort((a, b) => HAZARD_ORDER[b[1].hazard] - HAZARD_ORDER[a[1].hazard]);
  if (!relied.length) return "";
  return h("div", { class: `hazards ${relied[0][1].hazard.toLowerCase()}`, role: "alert" },
    ...relied.map(([n, s]) => h("p", {}, h("strong", {}, `${s.hazard} `), `[${n}] ${s.title}, p. ${s.page ?? "?"}: `,
      s.snippet)));
}

function feedbackControls(answerId) {
  const box = h("div", { class: "feedback" });
  const ask = (rating) => {
    const comment = h("textarea", { rows: 2, maxlength: 4000 });
    const corrected = h("textarea", { rows: 2, maxlength: 8000 });
    const form = h("form", { class: "feedback-form", onsubmit: async (event) => {
      event.preventDefault();
      const sent = await attempt(() => post("/api/feedback", {
        answer_id: answerId, rating, comment: comment.value || null, corrected_answer: corrected.value || null,
      }), "Feedback was not saved");
      if (sent) clear(box, h("span", { class: "muted" }, "Thank you — feedback saved."));
    } },
    field("Comment (optional)", comment),
    rating === "down" ? field("The right answer (optional)", corrected) : "",
    h("button", { type: "submit" }, "Send feedback"));
    clear(box, form);
    comment.focus();
  };
  box.append(
    h("button", { type: "button", class: "secondary", onclick: () => ask("up") }, "Helpful"),
    h("button", { type: "button", class: "secondary", onclick: () => ask("down") }, "Not helpful"));
  return box;
}

export async function askPage(view, ctx, conversationId) {
  let conversation = conversationId || newConversationId();
  let running = null; // the AbortController of the answer being streamed
  const list = h("ul", { class: "conversations" });
  const transcript = h("ol", { class: "transcript", "aria-label": "Conversation" });
  const viewer = h("section", { class: "viewer", hidden: true, "aria-label": "Source document" });
  const input = h("textarea", { name: "question", rows: 2, required: true, maxlength: 4000,
                                placeholder: "Ask about a manual — e.g. What torque do the casing bolts need?" });
  const askButton = h("button", { type: "submit" }, "Ask");
  const stopButton = h("button", { type: "button", class: "danger", hidden: true, onclick: () => running?.abort() },
    "Stop");
  const form = h("form", { class: "question", onsubmit: (event) => { event.preventDefault(); submit(); } },
    field("Question", input), h("div", { class: "row" }, askButton, stopButton));
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); submit(); }
  });

  const closeViewer = () => { viewer.hidden = true; clear(viewer); };
  const open = (source) => attempt(() => openSource(viewer, source, ctx.assets, closeViewer), "The source could not be opened");

  async function refreshList() {
    const listed = await attempt(() => get("/api/conversations?limit=50"), "Conversations could not be listed");
    if (!listed) return;
    clear(list, ...listed.conversations.map((c) => h("li", { class: c.id === conversation ? "current" : "" },
      h("a", { href: `#/ask/${encodeURIComponent(c.id)}` }, c.title || "(untitled)"),
      h("span", { class: "muted small" }, ` ${when(c.updated_at)}`),
      h("button", { type: "button", class: "link", "aria-label": `Delete conversation ${c.title}`, onclick: async () => {
        if (!(await confirmDialog(`Delete the conversation “${c.title}”?`))) return;
        if (await attempt(() => del(`/api/conversations/${encodeURIComponent(c.id)}`), "Not deleted") !== undefined) {
          if (c.id === conversation) location.hash = "#/ask";
          refreshList();
        }
      } }, "Delete"))));
  }

  // One turn: the question, then the answer as it arrives.
  function turnElement(question) {
    const body = h("div", { class: "answer-body streaming", "aria-busy": "true" });
    const li = h("li", { class: "turn" },
      h("div", { class: "q" }, h("span", { class: "sr-only" }, "Question: "), question),
      h("div", { class: "a" }, h("div", { class: "hazard-slot" }), h("div", { class: "notice-slot" }), body,
        h("ol", { class: "sources", "aria-label": "Sources" }), h("div", { class: "actions" })));
    transcript.append(li);
    return li;
  }

  function finish(li, question, result, answerId) {
    const body = li.querySelector(".answer-body");
    const sources = result.sources ?? [];
    const openN = (n) => open(sources[n - 1]);
    body.classList.remove("streaming");
    body.removeAttribute("aria-busy");
    clear(body, renderAnswer(result.answer ?? body.textContent, sources.length, openN));
    clear(li.querySelector(".sources"), ...sources.map((s, i) => sourceLine(s, i + 1, openN)));
    clear(li.querySelector(".hazard-slot"), hazardBox(sources, result.grounding?.cited));
    const notices = [];
    if (result.covered === false) {
      notices.push(h("p", { class: "notice not-covered" }, "Not in the manuals: no indexed document answers this."));
    }
    if (result.web?.used) {
      notices.push(h("p", { class: "notice web" },
        "Web search: the sources marked W are web pages, not your organisation's manuals. Check them before acting."));
    }
    if (result.grounding && !result.grounding.supported) {
      notices.push(h("p", { class: "notice unsupported" }, result.grounding.replaced
        ? "The model's answer failed the check against its sources; these are the sources' own words."
        : "Check this answer: some values are not in the cited passages (marked)."));
    }
    if (result.stopped) notices.push(h("p", { class: "notice" }, "Stopped."));
    clear(li.querySelector(".notice-slot"), ...notices);
    const actions = li.querySelector(".actions");
    clear(actions,
      h("button", { type: "button", class: "secondary", onclick: () => navigator.clipboard.writeText(body.innerText)
        .then(() => toast("Answer copied."), () => toast("Copying is not allowed here.", "error")) }, "Copy"),
      h("button", { type: "button", class: "secondary", onclick: () => submit(question, true) }, "Retry"),
      answerId ? feedbackControls(answerId) : "");
  }

  async function submit(again, fresh = false) {
    const question = (again ?? input.value).trim();
    if (!question || running) return;
    const pressed = performance.now();
    input.value = "";
    const li = turnElement(question);
    const body = li.querySelector(".answer-body");
    const text = document.createTextNode("");
    body.append(text);
    running = new AbortController();
    askButton.disabled = true;
    stopButton.hidden = false;
    let sources = [];
    let done = null;
    let firstDrawn = false;
    try {
      await postEvents("/api/rag-chat", {
        query: question, stream: true, conversation_id: conversation, cache: fresh ? "no-cache" : "default",
      }, (event, data) => {
        if (event === "sources") {
          sources = data.sources;
          clear(li.querySelector(".sources"), ...sources.map((s, i) => sourceLine(s, i + 1, (n) => open(sources[n - 1]))));
        } else if (event === "token") {
          text.appendData(data.text);
          if (!firstDrawn) {
            firstDrawn = true;
            requestAnimationFrame(() => window.tsaTimings.push({ question, first_token_ms: performance.now() - pressed }));
          }
        } else if (event === "done") {
          done = data;
        } else if (event === "error") {
          throw new Error(data.message);
        }
      }, running.signal);
      finish(li, question, done ?? { answer: text.data, sources }, done?.answer_id);
    } catch (error) {
      if (error.name === "AbortError") finish(li, question, { answer: text.data, sources, stopped: true });
      else {
        body.classList.remove("streaming");
        clear(li.querySelector(".notice-slot"), h("p", { class: "notice error" }, `No answer: ${error.message}`));
        clear(li.querySelector(".actions"),
          h("button", { type: "button", class: "secondary", onclick: () => submit(question, true) }, "Retry"));
      }
    } finally {
      running = null;
      askButton.disabled = false;
      stopButton.hidden = true;
      input.focus();
      if (location.hash !== `#/ask/${encodeURIComponent(conversation)}`) {
        history.replaceState(null, "", `#/ask/${encodeURIComponent(conversation)}`);
      }
      refreshList();
    }
  }

  async function load() {
    if (!conversationId) return;
    const stored = await attempt(() => get(`/api/conversations/${encodeURIComponent(conversationId)}`),
      "The conversation could not be opened");
    if (!stored) { conversation = newConversationId(); return; }
    for (const turn of stored.turns) {
      finish(turnElement(turn.question), turn.question, { answer: turn.answer, sources: turn.sources }, null);
    }
  }

  clear(view, h("div", { class: "ask" },
    h("aside", { class: "history", "aria-label": "Conversations" },
      h("a", { href: "#/ask", class: "button" }, "New conversation"),
      list),
    h("section", { class: "chat", "aria-label": "Ask the manuals" }, h("h1", { class: "sr-only" }, "Ask"), transcript, form),
    viewer));
  await load();
  refreshList();
  input.focus();
}
