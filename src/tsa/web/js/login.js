// Sign in with a user name and password; the session cookie and CSRF token come back from the server.
import { post } from "./api.js";
import { clear, field, h } from "./ui.js";

export function loginPage(view, onSignedIn) {
  const username = h("input", { name: "username", autocomplete: "username", required: true, maxlength: 200 });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const problem = h("p", { class: "notice error", role: "alert", hidden: true });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "login", onsubmit: async (event) => {
    event.preventDefault();
    button.disabled = true;
    problem.hidden = true;
    try {
      await post("/api/auth/login", { username: username.value, password: password.value });
      await onSignedIn();
    } catch (error) {
      problem.textContent = error.status === 401 ? "The user name or password is wrong." : error.message;
      problem.hidden = false;
      password.select();
    } finally {
      button.disabled = false;
    }
  } },
  h("h1", {}, "Technical Service Assistant"),
  h("p", { class: "muted" }, "Answers from your service manuals, with the page they come from."),
  field("User name", username), field("Password", password), problem, button);
  clear(view, form);
  username.focus();
}
