// The app's shell: who is signed in, the menu for their role, and the page for the address (#/ask,
// #/ask/<conversation>, #/library, #/admin/<tab>, sign-in).
import { csrfToken, get, post, whenSignedOut } from "./api.js";
import { clear } from "./ui.js";
import { askPage } from "./ask.js";
import { loginPage } from "./login.js";

const view = document.getElementById("view");
const header = document.querySelector("header.top");
const ctx = { me: null, assets: view.dataset.assets };
const RANK = { viewer: 1, editor: 2, admin: 3 };
let leave = null; // what the current page stops when it is left (event streams, timers)

const may = (role) => ctx.me && RANK[ctx.me.role] >= RANK[role];

async function whoAmI() {
  // No CSRF cookie: no session either, so the sign-in page shows without a refused request.
  if (!csrfToken()) {
    ctx.me = null;
    return;
  }
  try {
    ctx.me = await get("/api/auth/me");
  } catch {
    ctx.me = null;
  }
}

function showHeader() {
  header.hidden = !ctx.me;
  if (!ctx.me) return;
  header.querySelector(".who").textContent = `${ctx.me.username} (${ctx.me.role})`;
  for (const link of header.querySelectorAll("[data-role]")) link.hidden = !may(link.dataset.role);
}

async function render() {
  leave?.();
  leave = null;
  showHeader();
  if (!ctx.me) {
    loginPage(view, async () => { await whoAmI(); location.hash = "#/ask"; render(); });
    return;
  }
  const [, page = "ask", arg] = location.hash.match(/^#\/([^/]*)\/?(.*)$/) ?? [];
  for (const link of header.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (page === "library" && may("editor")) {
    const { libraryPage } = await import("./library.js");
    leave = await libraryPage(view, ctx);
  } else if (page === "admin" && may("admin")) {
    const { adminPage } = await import("./admin.js");
    leave = await adminPage(view, ctx, arg);
  } else {
    await askPage(view, ctx, page === "ask" && arg ? decodeURIComponent(arg) : null);
  }
  view.focus({ preventScroll: true });
}

whenSignedOut(() => {
  if (!ctx.me) return;
  ctx.me = null;
  render();
});
header.querySelector(".signout").addEventListener("click", async () => {
  await post("/api/auth/logout").catch(() => {});
  ctx.me = null;
  location.hash = "";
  render();
});
window.addEventListener("hashchange", render);
// A link to the page already shown (e.g. "New conversation") starts it afresh.
document.addEventListener("click", (event) => {
  const link = event.target.closest?.('a[href^="#/"]');
  if (link && link.getAttribute("href") === location.hash) render();
});

clear(view);
await whoAmI();
render();
