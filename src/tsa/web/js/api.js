// The HTTP API as the pages use it: session cookie, CSRF header on writes, errors as ApiError.

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const SAFE = new Set(["GET", "HEAD"]);

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)tsa_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function headers(method, extra = {}) {
  const h = { Accept: "application/json", ...extra };
  if (!SAFE.has(method)) h["X-CSRF-Token"] = csrfToken();
  return h;
}

// Signed out (or the session expired): every page goes back to the sign-in page.
let onSignedOut = () => {};
export function whenSignedOut(handler) { onSignedOut = handler; }

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  let code;
  try {
    const body = await response.json();
    const error = body.error ?? body.detail;
    if (typeof error === "string") message = error;
    else if (error?.message) { message = error.message; code = error.code; }
  } catch { /* not JSON: keep the status line */ }
  if (response.status === 401) onSignedOut();
  return new ApiError(response.status, message, code);
}

export async function request(method, path, body, { signal } = {}) {
  const init = { method, headers: headers(method), signal, credentials: "same-origin" };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path, options) => request("GET", path, undefined, options);
export const post = (path, body, options) => request("POST", path, body ?? {}, options);
export const patch = (path, body) => request("PATCH", path, body);
export const put = (path, body) => request("PUT", path, body ?? {});
export const del = (path) => request("DELETE", path);

// Server-sent events from a POST (EventSource only does GET): calls onEvent(name, data) per event.
export async function postEvents(path, body, onEvent, signal) {
  const response = await fetch(path, {
    method: "POST", signal, credentials: "same-origin",
    headers: headers("POST", { "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

// An upload with progress of the bytes sent (fetch cannot report upload progress).
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded, e.total);
    xhr.onload = async () => {
      const response = new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText });
      if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText));
      else reject(await failure(response));
    };
    xhr.onerror = () => reject(new ApiError(0, "the upload could not reach the server"));
    xhr.send(form);
  });
}
