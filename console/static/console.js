// Helpers every console page uses: the CSRF token, JSON requests, durations.
"use strict";

window.Switchboard = {
  /** The session's CSRF token (the page's meta tag), sent as X-CSRF-Token. */
  csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  },

  /** fetch() as JSON; resolves to {ok, status, data} (data: the parsed body or null). */
  async api(method, url, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") options.headers["X-CSRF-Token"] = this.csrf();
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      return { ok: false, status: 0, data: { detail: "the server could not be reached" } };
    }
    if (response.status === 401) {  // the session ended: sign in again, then come back
      window.location.href = "/signin?next=" + encodeURIComponent(location.pathname + location.search);
    }
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    return { ok: response.ok, status: response.status, data };
  },

  /** An error response's message. */
  detail(result) {
    const detail = result.data && result.data.detail;
    return typeof detail === "string" ? detail : "request failed (" + result.status + ")";
  },

  /** Seconds as m:ss (h:mm:ss from an hour). */
  clock(secs) {
    secs = Math.max(0, Math.floor(secs));
    const h = Math.floor(secs / 3600), m = Math.floor((secs % 3600) / 60), s = secs % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  },

  /** An element with text content (never HTML) and optional attributes. */
  el(tag, text, attributes) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    return node;
  },
};
