// The agent desk: the queue of waiting callers, live from /api/handoffs/stream (Server-Sent
// Events), with each caller's time waiting ticking, and "Take" (POST .../take, CSRF header).
"use strict";

(() => {
  const S = window.Switchboard;
  const lists = { waiting: document.getElementById("queue"), taken: document.getElementById("taken") };
  const empty = { waiting: document.getElementById("queue-empty"), taken: document.getElementById("taken-empty") };
  const template = document.getElementById("card-template");
  const liveStatus = document.getElementById("live-status");
  const count = document.querySelector('[data-testid="waiting-count"]');
  const clocks = new Map();  // handoff_id -> {base: seconds when received, at: performance.now(), ticking}

  const cardOf = (id) => document.querySelector('.cards [data-handoff-id="' + CSS.escape(id) + '"]');

  function fill(card, h) {
    const field = (name) => card.querySelector('[data-field="' + name + '"]');
    card.dataset.handoffId = h.handoff_id;
    card.dataset.status = h.status;
    card.querySelector("h3").id = "card-" + h.handoff_id;
    card.querySelector("article").setAttribute("aria-labelledby", "card-" + h.handoff_id);
    field("caller-name").textContent = h.caller.name || "Unknown caller";
    field("caller-number").textContent = h.caller.number || "";
    field("reason").textContent = h.reason;
    const verified = field("verified");
    verified.textContent = h.caller.verified ? "Verified" : "Not verified";
    verified.classList.toggle("ok", h.caller.verified);
    verified.classList.toggle("warn", !h.caller.verified);
    field("intent").textContent = h.intent || "";
    field("prose").textContent = h.prose;
    field("waiting-label").textContent = h.status === "waiting" ? "Waiting" : "Waited";
    field("agent").textContent = h.agent ? "· taken by " + h.agent : "";
    field("open").href = "/console/desk/" + encodeURIComponent(h.handoff_id);
    card.querySelector('[data-action="take"]').hidden = h.status !== "waiting";
    clocks.set(h.handoff_id, { base: h.waiting_secs, at: performance.now(), ticking: h.status === "waiting" });
    tick(card);
  }

  function tick(card) {
    const clock = clocks.get(card.dataset.handoffId);
    if (!clock) return;
    const secs = clock.base + (clock.ticking ? (performance.now() - clock.at) / 1000 : 0);
    card.querySelector('[data-field="waiting"]').textContent = S.clock(secs);
  }

  function refreshCounts() {
    for (const [status, list] of Object.entries(lists)) empty[status].hidden = list.children.length > 0;
    count.textContent = lists.waiting.children.length;
  }

  function remove(id) {
    const card = cardOf(id);
    if (card) card.remove();
    clocks.delete(id);
  }

  /** Put a handoff where its status belongs: waiting, taken, or (closed) nowhere. */
  function upsert(h, isNew) {
    const list = lists[h.status];
    if (!list) return remove(h.handoff_id);
    let card = cardOf(h.handoff_id);
    if (!card) {
      card = template.content.firstElementChild.cloneNode(true);
      if (isNew) card.classList.add("new");
    }
    fill(card, h);
    if (card.parentElement !== list) list.appendChild(card);
  }

  function on(kind, handler) {
    source.addEventListener(kind, (event) => {
      handler(JSON.parse(event.data));
      refreshCounts();
    });
  }

  const source = new EventSource("/api/handoffs/stream");
  source.onopen = () => { liveStatus.textContent = "Live."; };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      liveStatus.textContent = "Disconnected: reload the page.";
      S.api("GET", "/api/me");  // a session that ended goes to the sign-in page
    } else {
      liveStatus.textContent = "Reconnecting…";
    }
  };
  on("snapshot", (page) => {
    for (const list of Object.values(lists)) list.replaceChildren();
    clocks.clear();
    for (const h of page.items) upsert(h, false);
  });
  on("created", (h) => upsert(h, true));
  on("updated", (h) => upsert(h, false));
  on("removed", (data) => remove(data.handoff_id));

  document.addEventListener("click", async (event) => {
    const button = event.target.closest('[data-action="take"]');
    if (!button) return;
    const card = button.closest(".card");
    const id = card.dataset.handoffId;
    const message = card.querySelector('[data-field="message"]');
    button.disabled = true;
    message.textContent = "Taking…";
    const result = await S.api("POST", "/api/handoffs/" + encodeURIComponent(id) + "/take");
    if (result.ok) {
      window.location.href = "/console/desk/" + encodeURIComponent(id);
      return;
    }
    button.disabled = false;
    message.textContent = S.detail(result);
  });

  setInterval(() => document.querySelectorAll(".cards .card").forEach(tick), 1000);
  for (const card of document.querySelectorAll(".cards .card")) {
    const ticking = card.dataset.status === "waiting";
    clocks.set(card.dataset.handoffId, { base: Number(card.dataset.waitingSecs), at: performance.now(), ticking });
  }
})();
