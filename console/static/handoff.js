// A handoff at the desk: take it, the copilot (knowledge-base passages for what the agent
// types and for each new caller turn), and the wrap-up form (POST .../wrapup, CSRF header).
//
// Caller turns: while the call is live the page polls GET /api/calls/{id} and searches the
// knowledge base for every new caller turn. This stands in for a forked media stream of the
// live call, which would deliver the caller's words as they are spoken.
"use strict";

(() => {
  const S = window.Switchboard;
  const root = document.getElementById("handoff");
  const handoffId = root.dataset.handoffId;
  const callId = root.dataset.callId;
  let lastSeq = Number(root.dataset.lastSeq);
  const POLL_MS = 3000;
  const TOP_K = 3;

  // --- take --------------------------------------------------------------------------
  const take = document.querySelector('[data-action="take"]');
  if (take) {
    take.addEventListener("click", async () => {
      const status = document.getElementById("take-status");
      take.disabled = true;
      status.textContent = "Taking…";
      const result = await S.api("POST", "/api/handoffs/" + encodeURIComponent(handoffId) + "/take");
      if (result.ok) return window.location.reload();
      take.disabled = false;
      status.textContent = S.detail(result);
    });
  }

  // --- the copilot ---------------------------------------------------------------------
  async function search(query) {
    const url = "/api/kb/search?" + new URLSearchParams({ q: query.slice(0, 500), top_k: TOP_K });
    return S.api("GET", url);
  }

  function passages(result) {
    const box = S.el("div");
    if (!result.ok) {
      box.appendChild(S.el("p", S.detail(result), { class: "error" }));
      return box;
    }
    if (!result.data.results.length) box.appendChild(S.el("p", "No passage found.", { class: "empty" }));
    for (const p of result.data.results) {
      const article = S.el("article", null, { class: "passage", "data-testid": "kb-passage" });
      article.appendChild(S.el("h4", p.title || p.id));
      // A web address as it is; a file by its document id (not the server's path to it).
      const source = /^https?:\/\//.test(p.source || "") ? p.source : p.id;
      article.appendChild(S.el("p", source, { class: "muted small source", "data-testid": "kb-source" }));
      article.appendChild(S.el("p", p.text));
      box.appendChild(article);
    }
    return box;
  }

  const form = document.getElementById("kb-form");
  const results = document.getElementById("kb-results");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const query = form.elements.q.value.trim();
    if (!query) return;
    results.replaceChildren(S.el("p", "Searching…", { class: "muted" }));
    results.replaceChildren(passages(await search(query)));
  });

  const suggestions = document.getElementById("suggestions");
  async function suggestFor(text) {
    const block = S.el("section", null, { class: "suggestion", "data-testid": "suggestion" });
    block.appendChild(S.el("p", null, { class: "small" })).appendChild(S.el("q", text));
    suggestions.prepend(block);
    block.appendChild(passages(await search(text)));
  }

  // --- the transcript so far -------------------------------------------------------------
  const transcript = document.getElementById("transcript");
  function appendTurn(turn) {
    const item = S.el("li", null, {
      class: "turn " + turn.speaker, "data-testid": "turn", "data-seq": turn.seq,
      "data-speaker": turn.speaker, "data-start-ms": turn.started_ms,
    });
    const head = item.appendChild(S.el("div", null, { class: "turn-head" }));
    head.appendChild(S.el("time", S.clock(turn.started_ms / 1000)));
    head.appendChild(S.el("strong", turn.speaker[0].toUpperCase() + turn.speaker.slice(1), { class: "speaker" }));
    item.appendChild(S.el("p", turn.text, { class: "text", "data-testid": "turn-text" }));
    transcript.appendChild(item);
  }

  async function poll() {
    const result = await S.api("GET", "/api/calls/" + encodeURIComponent(callId));
    if (!result.ok) return;
    for (const turn of result.data.turns) {
      if (turn.seq <= lastSeq) continue;
      lastSeq = turn.seq;
      appendTurn(turn);
      if (turn.speaker === "caller" && turn.text.trim()) suggestFor(turn.text);
    }
    if (result.data.ended_at) {
      const note = document.getElementById("live-note");
      if (note) note.textContent = "The call has ended.";
      return;
    }
    setTimeout(poll, POLL_MS);
  }

  if (transcript) {
    const callerTurns = transcript.querySelectorAll('[data-speaker="caller"] [data-testid="turn-text"]');
    const latest = callerTurns[callerTurns.length - 1];
    if (latest && latest.textContent.trim()) suggestFor(latest.textContent.trim());
    if (root.dataset.live === "true" && callId) setTimeout(poll, POLL_MS);
  }

  // --- wrap-up ---------------------------------------------------------------------------
  const wrapup = document.getElementById("wrapup-form");
  if (wrapup) {
    wrapup.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = document.getElementById("wrapup-status");
      const button = wrapup.querySelector('button[type="submit"]');
      button.disabled = true;
      status.textContent = "Saving…";
      const body = { summary: wrapup.elements.summary.value, disposition: wrapup.elements.disposition.value };
      const result = await S.api("POST", "/api/handoffs/" + encodeURIComponent(handoffId) + "/wrapup", body);
      button.disabled = false;
      if (!result.ok) {
        status.textContent = S.detail(result);
        return;
      }
      wrapup.elements.summary.value = result.data.summary;  // as stored: redacted
      status.textContent = "Saved " + new Date(result.data.saved_at).toLocaleString() + ".";
    });
  }
})();
