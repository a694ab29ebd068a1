// papan bench — the browser board papan's display is measured against: what a signage player or a
// queue system's web board does, here on papan's own hub. It connects to the hub's WebSocket as a
// display, keeps the board from the snapshot and the events after it, redraws the parts that show
// calls, and logs when each seq it applied has been drawn (`papan bench display` reads Chromium's
// log). No framework, no build step. `PAPAN_BOARD` (set by the page) holds the hub's address, the
// display token, the hall's agencies and its time zone; `papan` is the console's common.js.
"use strict";

const config = PAPAN_BOARD;
let board = null;

// After the frame that draws the change: a requestAnimationFrame callback runs before that frame's
// style, layout and paint; a task queued from it runs once they are done. papan's own log line is
// written after its frame's systems (UI and text layout included), before the GPU work: the same
// point of a frame.
function logDrawn(seq) {
  requestAnimationFrame(() =>
    setTimeout(() => {
      const unixUs = Math.round((performance.timeOrigin + performance.now()) * 1000);
      console.log(`papan-board-frame seq ${seq} unix_us ${unixUs}`);
    }, 0),
  );
}

// The board reducer, as src/board.rs does it (what this board shows of it).
function apply(frame) {
  const event = frame.event;
  board.seq = frame.seq;
  if (event.type === "call" || event.type === "recall") {
    const { record, recent } = papan.recordCall(board.recent, frame);
    board.recent = recent;
    board.agencies[event.agency] = record;
  } else if (event.type === "ticker") {
    board.ticker = event.text || null;
  } else if (event.type === "reset") {
    board.recent = [];
    board.agencies = {};
    board.ticker = null;
  }
}

function render() {
  const latest = board.recent[0];
  for (const region of document.querySelectorAll(".js-now")) {
    region.replaceChildren();
    if (!latest) continue;
    const agency = config.agencies[latest.agency] || { name: "", colour: "#1565C0" };
    const hero = papan.el("div", { class: "hero" },
      papan.el("div", { class: "label" }, "NOMOR ANTREAN"), papan.el("div", { class: "ticket" }, latest.ticket),
      papan.el("div", { class: "counter" }, `LOKET ${latest.counter}`), papan.el("div", { class: "agency" }, agency.name));
    hero.style.background = agency.colour;
    region.append(hero);
  }
  for (const table of document.querySelectorAll(".js-history")) {
    const rows = board.recent.slice(0, Number(table.dataset.rows)).map((call) => {
      const agency = config.agencies[call.agency];
      return papan.el("tr", {}, papan.el("td", {}, papan.el("b", {}, call.ticket)),
        papan.el("td", {}, `Loket ${call.counter}`), papan.el("td", { class: "dim" }, agency ? agency.short : ""));
    });
    table.replaceChildren(...rows);
  }
  for (const panel of document.querySelectorAll(".js-panel")) {
    const call = board.agencies[panel.dataset.agency];
    const latest = panel.querySelector(".latest");
    panel.style.background = call ? config.agencies[panel.dataset.agency].colour : "";
    latest.replaceChildren();
    if (call) latest.append(papan.el("b", {}, call.ticket), ` Loket ${call.counter}`);
    else latest.textContent = "—";
  }
  for (const ticker of document.querySelectorAll(".js-ticker")) ticker.textContent = board.ticker || "";
}

function receive(ws, frame) {
  if (frame.type === "snapshot") {
    board = frame.board;
  } else if (frame.type === "event" && board && frame.seq > board.seq) {
    if (frame.seq !== board.seq + 1) {
      ws.send(JSON.stringify({ type: "resync", since: board.seq }));
      return;
    }
    apply(frame);
  } else {
    return;
  }
  render();
  logDrawn(board.seq);
}

function connect() {
  const ws = new WebSocket(config.hub);
  ws.onopen = () => ws.send(JSON.stringify({
    type: "hello", protocol: 1, role: "display", client: "chromium-board", token: config.token,
    since: board ? board.seq : 0,
  }));
  ws.onmessage = (message) => receive(ws, JSON.parse(message.data));
  ws.onclose = () => setTimeout(connect, 1000);
}

const days = ["Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"];
const months = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
  "September", "Oktober", "November", "Desember"];

// The clock line as papan shows it: the hall's zone, hours and minutes, changed when the minute turns.
function tick() {
  const d = new Date(Date.now() + config.offsetSeconds * 1000), two = (n) => String(n).padStart(2, "0");
  for (const clock of document.querySelectorAll(".js-clock")) {
    clock.textContent = `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} · ` +
      `${two(d.getUTCHours())}.${two(d.getUTCMinutes())} ${config.zone}`;
  }
  setTimeout(tick, 60000 - (Date.now() % 60000) + 20);
}

tick();
connect();
