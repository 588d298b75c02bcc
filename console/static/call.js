// A call's review page: the recording follows the transcript. While it plays, the turn whose
// time span holds the playback position is highlighted (and scrolled into view); a turn's
// time button seeks the recording there. Turn times count from the call's start, as the
// recording does.
"use strict";

(() => {
  const player = document.getElementById("player");
  const turns = Array.from(document.querySelectorAll('#transcript [data-testid="turn"]'));
  if (!turns.length) return;
  const spans = turns.map((turn, i) => ({
    turn,
    start: Number(turn.dataset.startMs),
    end: turn.dataset.endMs ? Number(turn.dataset.endMs)
      : i + 1 < turns.length ? Number(turns[i + 1].dataset.startMs) : Infinity,
  }));
  let current = null;

  function highlight(ms) {
    // A turn lasts from its start to its end (or, without one, to the next turn's start).
    const span = spans.find((s) => s.start <= ms && ms < s.end);
    const turn = span ? span.turn : null;
    if (turn === current) return;
    if (current) { current.classList.remove("playing"); current.removeAttribute("aria-current"); }
    current = turn;
    if (current) {
      current.classList.add("playing");
      current.setAttribute("aria-current", "true");
      current.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  if (player) player.addEventListener("timeupdate", () => highlight(player.currentTime * 1000));
  document.getElementById("transcript").addEventListener("click", (event) => {
    const button = event.target.closest('[data-action="seek"]');
    if (!button || !player) return;
    const ms = Number(button.closest('[data-testid="turn"]').dataset.startMs);
    player.currentTime = ms / 1000;
    highlight(ms);
    player.play().catch(() => {});  // autoplay rules may refuse; the position is set anyway
  });
})();
