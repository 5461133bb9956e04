// Admin: users, groups, keys, collections and grants; the fleet and the caches, live; the audit log.
import { del, get, patch, post, put } from "./api.js";
import { attempt, clear, confirmDialog, field, h, toast, when } from "./ui.js";

const TABS = ["users", "groups", "keys", "collections", "fleet", "cache", "audit"];
const ROLES = ["viewer", "editor", "admin"];

// Wide tables scroll sideways on a phone; the region is focusable so the keyboard can scroll it too.
function table(headers, rows) {
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Table" }, h("table", {},
    h("thead", {}, h("tr", {}, ...headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...rows)));
}

function select(options, value, label) {
  return h("select", { "aria-label": label }, ...options.map((o) => h("option", { value: o, selected: o === value }, o)));
}

async function users(box, redraw) {
  const listed = await get("/api/users");
  const name = h("input", { required: true, maxlength: 100, autocomplete: "off" });
  const role = select(ROLES, "viewer", "Role");
  const password = h("input", { type: "password", minlength: 10, autocomplete: "new-password" });
  const form = h("form", { class: "row wrap", onsubmit: async (e) => {
    e.preventDefault();
    const made = await attempt(() => post("/api/users", { username: name.value, role: role.value,
                                                           password: password.value || null }), "User not created");
    if (made) { toast(`User ${made.username} created.`); redraw(); }
  } }, field("User name", name), field("Role", role), field("Password (10+ characters)", password),
  h("button", { type: "submit" }, "Create user"));
  clear(box, h("h2", {}, "Users"), form, table(["User", "Role", "Signs in", "Created", ""], listed.users.map((u) => {
    const roleSelect = select(ROLES, u.role, `Role of ${u.username}`);
    roleSelect.addEventListener("change", () => attempt(() => patch(`/api/users/${u.id}`, { role: roleSelect.value }),
      "Role not changed").then((r) => r && toast(`${u.username} is now ${r.role}.`)));
    return h("tr", {},
      h("td", {}, u.username), h("td", {}, roleSelect),
      h("td", {}, u.disabled ? "disabled" : u.has_password ? "password" : "keys only"),
      h("td", {}, when(u.created_at)),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => attempt(() => patch(`/api/users/${u.id}`,
          { disabled: !u.disabled }), "Not changed").then(redraw) }, u.disabled ? "Enable" : "Disable"),
        h("button", { type: "button", class: "danger", "aria-label": `Delete user ${u.username}`, onclick: async () => {
          if (await confirmDialog(`Delete user ${u.username}, with their keys?`)) {
            await attempt(() => del(`/api/users/${u.id}`), "Not deleted");
            redraw();
          }
        } }, "Delete")));
  })));
}

async function groups(box, redraw) {
  const [listed, people] = await Promise.all([get("/api/groups"), get("/api/users")]);
  const username = (id) => people.users.find((u) => u.id === id)?.username ?? `#${id}`;
  const name = h("input", { required: true, maxlength: 100 });
  clear(box, h("h2", {}, "Groups"),
    h("form", { class: "row wrap", onsubmit: async (e) => {
      e.preventDefault();
      if (await attempt(() => post("/api/groups", { name: name.value }), "Group not created")) redraw();
    } }, field("Group name", name), h("button", { type: "submit" }, "Create group")),
    table(["Group", "Members", ""], listed.groups.map((g) => {
      const add = select(["", ...people.users.filter((u) => !g.members.includes(u.id)).map((u) => u.username)], "",
        `Add a member to ${g.name}`);
      add.addEventListener("change", async () => {
        const user = people.users.find((u) => u.username === add.value);
        if (user && await attempt(() => put(`/api/groups/${g.id}/members/${user.id}`), "Not added") !== undefined) redraw();
      });
      return h("tr", {}, h("td", {}, g.name),
        h("td", {}, ...g.members.map((id) => h("span", { class: "chip" }, username(id),
          h("button", { type: "button", class: "link", "aria-label": `Remove ${username(id)} from ${g.name}`,
                        onclick: () => attempt(() => del(`/api/groups/${g.id}/members/${id}`), "Not removed").then(redraw) },
            "×"))), add),
        h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Delete group ${g.name}`,
          onclick: async () => {
            if (await confirmDialog(`Delete group ${g.name}? Its grants go with it.`)) {
              await attempt(() => del(`/api/groups/${g.id}`), "Not deleted");
              redraw();
            }
          } }, "Delete")));
    })));
}

async function keys(box, redraw) {
  const [listed, people] = await Promise.all([get("/api/keys?all_users=true"), get("/api/users")]);
  const username = (id) => people.users.find((u) => u.id === id)?.username ?? `#${id}`;
  const name = h("input", { required: true, maxlength: 100, placeholder: "what it is for" });
  const owner = select(people.users.map((u) => u.username), people.users[0]?.username, "Owner");
  const secret = h("div", { class: "secret", role: "status" });
  clear(box, h("h2", {}, "API keys"),
    h("form", { class: "row wrap", onsubmit: async (e) => {
      e.preventDefault();
      const user = people.users.find((u) => u.username === owner.value);
      const made = await attempt(() => post("/api/keys", { name: name.value, user_id: user?.id }), "Key not created");
      if (!made) return;
      await redraw();
      box.querySelector(".secret")?.replaceChildren(
        h("p", {}, h("strong", {}, "Copy this key now — it is not shown again: ")), h("code", {}, made.token));
    } }, field("Key name", name), field("For user", owner), h("button", { type: "submit" }, "Create key")),
    secret,
    table(["Key", "User", "Prefix", "Created", "Last used", "State", ""], listed.keys.map((k) => h("tr", {},
      h("td", {}, k.name), h("td", {}, username(k.user_id)), h("td", {}, h("code", {}, k.prefix)),
      h("td", {}, when(k.created_at)), h("td", {}, when(k.last_used_at)),
      h("td", {}, k.revoked_at ? "revoked" : k.expires_at && new Date(k.expires_at) < new Date() ? "expired" : "active"),
      h("td", {}, k.revoked_at ? "" : h("button", { type: "button", class: "danger", "aria-label": `Revoke key ${k.name}`,
        onclick: async () => {
          if (await confirmDialog(`Revoke key ${k.name}? Clients using it stop working at once.`, "Revoke")) {
            await attempt(() => del(`/api/keys/${k.id}`), "Not revoked");
            redraw();
          }
        } }, "Revoke"))))));
}

async function collections(box, redraw) {
  const [listed, people, teams] = await Promise.all([get("/api/collections"), get("/api/users"), get("/api/groups")]);
  const name = h("input", { required: true, maxlength: 100 });
  const everyone = select(["none", "read", "edit"], "none", "Everyone may");
  const memberName = (g) => (g.user_id ? people.users.find((u) => u.id === g.user_id)?.username ?? `user #${g.user_id}`
    : `group ${teams.groups.find((t) => t.id === g.group_id)?.name ?? `#${g.group_id}`}`);
  clear(box, h("h2", {}, "Collections and grants"),
    h("form", { class: "row wrap", onsubmit: async (e) => {
      e.preventDefault();
      if (await attempt(() => post("/api/collections", { name: name.value, everyone: everyone.value }),
        "Collection not created")) redraw();
    } }, field("Collection name", name), field("Everyone may", everyone), h("button", { type: "submit" }, "Create collection")),
    table(["Collection", "Documents", "Everyone", "Grants", "Grant"], listed.collections.map((c) => {
      const who = select(["", ...people.users.map((u) => `user:${u.username}`), ...teams.groups.map((g) => `group:${g.name}`)],
        "", `Grant ${c.name} to`);
      const level = select(["read", "edit"], "read", `Permission on ${c.name}`);
      const open = select(["none", "read", "edit"], c.everyone, `Everyone may, on ${c.name}`);
      open.addEventListener("change", () => attempt(() => patch(`/api/collections/${c.id}`, { everyone: open.value }),
        "Not changed").then(redraw));
      const grant = async () => {
        const [kind, label] = who.value.split(/:(.*)/s);
        const id = kind === "user" ? people.users.find((u) => u.username === label)?.id
          : teams.groups.find((g) => g.name === label)?.id;
        if (id && await attempt(() => put(`/api/collections/${c.id}/grants/${kind}s/${id}`, { permission: level.value }),
          "Not granted") !== undefined) redraw();
      };
      return h("tr", {}, h("td", {}, c.name), h("td", {}, String(c.documents)), h("td", {}, open),
        h("td", {}, ...(c.grants ?? []).map((g) => h("span", { class: "chip" }, `${memberName(g)}: ${g.permission}`,
          h("button", { type: "button", class: "link", "aria-label": `Revoke ${memberName(g)} on ${c.name}`, onclick: () =>
            attempt(() => del(`/api/collections/${c.id}/grants/${g.user_id ? "users" : "groups"}/${g.user_id ?? g.group_id}`),
              "Not revoked").then(redraw) }, "×")))),
        h("td", {}, h("div", { class: "row" }, who, level,
          h("button", { type: "button", class: "secondary", onclick: grant }, "Grant"))));
    })));
}

async function fleet(box) {
  const listed = await get("/api/fleet/instances");
  clear(box, h("h2", {}, "Fleet"), table(["Instance", "State", "In flight", "P50 ms", "P95 ms", "Errors", "Models loaded / available"],
    listed.instances.map((i) => h("tr", { dataset: { state: i.state } },
      h("td", {}, i.name), h("td", {}, h("span", { class: `badge state-${i.state}` }, i.state)),
      h("td", {}, `${i.in_flight} / ${i.max_concurrency}`), h("td", {}, String(Math.round(i.p50_latency_ms ?? 0))),
      h("td", {}, String(Math.round(i.p95_latency_ms ?? 0))), h("td", {}, `${(100 * i.error_rate).toFixed(1)} %`),
      h("td", {}, `${i.models_loaded.join(", ") || "none"} / ${i.models_available.join(", ")}`)))));
}

async function cache(box) {
  const stats = await get("/api/advanced-cache-stats");
  clear(box, h("h2", {}, "Cache"), stats.redis_available ? "" : h("p", { class: "notice error" }, "Redis is unreachable."),
    table(["Layer", "Hit rate", "Hits", "Misses", "Time saved"], Object.entries(stats.layers).map(([name, l]) =>
      h("tr", {}, h("td", {}, name), h("td", {}, `${(100 * l.hit_rate).toFixed(1)} %`), h("td", {}, String(l.hits)),
        h("td", {}, String(l.misses)), h("td", {}, `${(l.estimated_time_saved_ms / 1000).toFixed(1)} s`)))));
}

async function audit(box) {
  const listed = await get("/api/audit?limit=200");
  clear(box, h("h2", {}, "Audit log"), table(["When", "Who", "Action", "Target", "From"], listed.entries.map((e) =>
    h("tr", {}, h("td", {}, when(e.at)), h("td", {}, e.actor ?? ""), h("td", {}, e.action), h("td", {}, e.target ?? ""),
      h("td", {}, e.address ?? "")))));
}

const DRAW = { users, groups, keys, collections, fleet, cache, audit };
const LIVE = new Set(["fleet", "cache"]); // redrawn every few seconds while shown

export async function adminPage(view, ctx, tab = "users") {
  const current = TABS.includes(tab) ? tab : "users";
  const box = h("section", { class: "admin-body", "aria-live": LIVE.has(current) ? "polite" : "off" });
  const redraw = () => attempt(() => DRAW[current](box, redraw), `The ${current} could not be shown`);
  clear(view, h("div", { class: "admin" },
    h("h1", {}, "Admin"),
    h("nav", { class: "tabs", "aria-label": "Admin sections" },
      ...TABS.map((t) => h("a", { href: `#/admin/${t}`, "aria-current": t === current ? "page" : null }, t)),
      ctx.me.links?.grafana ? h("a", { href: ctx.me.links.grafana, target: "_blank", rel: "noopener" }, "Grafana ↗") : ""),
    box));
  await redraw();
  if (!LIVE.has(current)) return undefined;
  const timer = setInterval(redraw, 3000);
  return () => clearInterval(timer);
}
