// The admin page: users (POST /api/users, PATCH /api/users/{name}) and the knowledge base
// (POST /api/kb/documents, POST /api/kb/reingest, GET /api/kb/collections). Every call
// that changes something sends the session's CSRF token (X-CSRF-Token).
"use strict";

(() => {
  const S = window.Switchboard;
  const status = document.getElementById("admin-status");

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  // --- users -----------------------------------------------------------------------------
  const users = document.getElementById("users");

  /** Show a user as the API returns it ({name, role, created_at, disabled}) in its row. */
  function fill(row, user) {
    row.dataset.name = user.name;
    row.dataset.disabled = String(user.disabled);
    const name = row.querySelector('[data-field="name"]');
    if (!name.textContent.trim()) name.textContent = user.name;
    const role = row.querySelector('[data-field="role"]');
    if (role.tagName === "SELECT") {
      role.id = "role-" + user.name;
      row.querySelector("label[for]").htmlFor = role.id;
      row.querySelector("label[for]").textContent = "Role of " + user.name;
      role.value = user.role;
    } else {
      role.textContent = user.role;
    }
    const created = row.querySelector('[data-field="created"]');
    if (!created.textContent.trim() && user.created_at) {
      created.appendChild(S.el("time", user.created_at.slice(0, 16).replace("T", " ") + " UTC",
        { datetime: user.created_at }));
    }
    row.querySelector('[data-field="state"]').textContent = user.disabled ? "disabled" : "active";
    const toggle = row.querySelector('[data-action="toggle"]');
    if (toggle) toggle.textContent = user.disabled ? "Enable" : "Disable";
  }

  async function patch(row, change, done) {
    const name = row.dataset.name;
    const result = await S.api("PATCH", "/api/users/" + encodeURIComponent(name), change);
    if (!result.ok) return say(name + ": " + S.detail(result), true);
    fill(row, result.data);
    say(done(result.data));
  }

  users.addEventListener("click", (event) => {
    const toggle = event.target.closest('[data-action="toggle"]');
    if (!toggle) return;
    const row = toggle.closest("tr");
    const disabled = row.dataset.disabled !== "true";
    patch(row, { disabled }, (u) => u.name + " is " + (u.disabled ? "disabled" : "enabled") + ".");
  });

  users.addEventListener("submit", (event) => {
    if (!event.target.matches(".role-form")) return;
    event.preventDefault();
    const row = event.target.closest("tr");
    const role = event.target.elements.role.value;
    patch(row, { role }, (u) => u.name + " is now " + u.role + ".");
  });

  const addForm = document.getElementById("add-user-form");
  const shown = document.getElementById("new-password");
  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: addForm.elements.name.value.trim(), role: addForm.elements.role.value };
    const button = addForm.querySelector('button[type="submit"]');
    button.disabled = true;
    shown.hidden = true;  // an earlier user's password is not left on show
    const result = await S.api("POST", "/api/users", body);
    button.disabled = false;
    if (!result.ok) return say(body.name + ": " + S.detail(result), true);
    const row = document.getElementById("user-row-template").content.firstElementChild.cloneNode(true);
    fill(row, result.data.user);
    users.appendChild(row);
    shown.querySelector('[data-field="name"]').textContent = result.data.user.name;
    shown.querySelector('[data-field="password"]').textContent = result.data.password || "";
    shown.hidden = !result.data.password;
    addForm.reset();
    say(result.data.user.name + " was added as " + result.data.user.role + ".");
  });

  // --- the knowledge base ----------------------------------------------------------------
  const resultBox = document.getElementById("kb-result");

  function report(result) {
    resultBox.hidden = false;
    const errors = resultBox.querySelector('[data-field="errors"]');
    errors.replaceChildren();
    if (!result.ok) {
      resultBox.querySelector('[data-field="summary"]').textContent = "";
      return say(S.detail(result), true);
    }
    const r = result.data;
    resultBox.querySelector('[data-field="summary"]').textContent = r.collection + ": " + r.summary;
    for (const e of r.errors) errors.appendChild(S.el("li", e));
    say(r.collection + ": " + r.summary, r.errors.length > 0);
    refreshCollections();
  }

  async function refreshCollections() {
    const result = await S.api("GET", "/api/kb/collections");
    if (!result.ok) return;
    const body = document.getElementById("collections");
    const names = document.getElementById("collection-names");
    body.replaceChildren();
    names.replaceChildren();
    for (const c of result.data) {
      const row = S.el("tr", null, { "data-testid": "kb-collection", "data-name": c.name });
      row.appendChild(S.el("th", c.name, { scope: "row" }));
      row.appendChild(S.el("td", String(c.documents)));
      row.appendChild(S.el("td", String(c.points)));
      body.appendChild(row);
      names.appendChild(S.el("option", null, { value: c.name }));
    }
    document.getElementById("no-collections").hidden = result.data.length > 0;
  }

  /** Run a knowledge-base request with its form's button disabled while it works. */
  async function busy(form, work) {
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    say("Ingesting…");
    try {
      report(await work());
    } finally {
      button.disabled = false;
    }
  }

  const upload = document.getElementById("kb-upload-form");
  upload.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(upload, async () => {
      // multipart: the browser sets the Content-Type (with its boundary) itself
      const data = new FormData(upload);
      let response;
      try {
        response = await fetch("/api/kb/documents", {
          method: "POST",
          body: data,
          credentials: "same-origin",
          headers: { Accept: "application/json", "X-CSRF-Token": S.csrf() },
        });
      } catch (error) {
        return { ok: false, status: 0, data: { detail: "the server could not be reached" } };
      }
      let body = null;
      try { body = await response.json(); } catch (error) { body = null; }
      if (response.ok) upload.elements.files.value = "";
      return { ok: response.ok, status: response.status, data: body };
    });
  });

  const reingest = document.getElementById("kb-reingest-form");
  reingest.addEventListener("submit", (event) => {
    event.preventDefault();
    const collection = reingest.elements.collection.value.trim();
    busy(reingest, () => S.api("POST", "/api/kb/reingest", { collection }));
  });
})();
