// papan — the staff console: speaks the hub's WebSocket protocol (docs/protocol.md) as a staff
// client, keeps a copy of the board, and sends calls. Commands carry ids, so one sent just before
// the connection dropped is sent again after reconnecting and still happens exactly once. The
// ids are random (128 bits): ids are hall-wide, and two consoles must never pick the same one.
// Browsers hide WebSocket pings from pages, so the console pings the hub itself and counts the
// link dead after the same silence a screen allows (8 s).
"use strict";

const $ = (id) => document.getElementById(id);
const counterKey = "papan.counter";
// A ping every 3 s; nothing heard for 8 s (the screens' limit) means the link is dead.
const pingEveryMs = 3000;
const silenceLimitMs = 8000;

const state = {
  ws: null,
  online: false,
  refused: false,
  backoff: 500,
  hall: null,
  board: null,
  seq: 0,
  // id → {command, label}: sent, not yet acked.
  pending: new Map(),
  // When the hub was last heard from, and when the connection now being made was started.
  lastHeard: 0,
  connectingSince: 0,
  lastPing: 0,
  // seq → label for the message once the event is seen.
  acked: new Map(),
  // GET /api/waiting as last fetched: the queues, their bands and missed tickets.
  waiting: null,
  waitingTimer: null,
  // Fetches of /api/waiting started; an answer older than the newest one shown is dropped.
  waitingAsked: 0,
  waitingShown: 0,
};

// Events that change what the queues look like.
const queueEvents = ["issue", "call", "done", "no_show", "reset"];

function chosenCounter() {
  const saved = localStorage.getItem(counterKey);
  if (!saved || !state.hall) return null;
  const [agency, counter] = saved.split("/");
  const found = state.hall.agencies.find((a) => a.id === agency && a.counters.includes(Number(counter)));
  return found ? { agency: found, counter: Number(counter) } : null;
}

// ---- connection ---------------------------------------------------------------------------

function connect() {
  if (!papan.token()) return show("login");
  const ws = new WebSocket(papan.wsUrl());
  state.ws = ws;
  state.connectingSince = Date.now();
  state.refused = false;
  ws.onopen = () => {
    const mine = chosenCounter();
    const client = mine ? `console-loket-${mine.counter}` : "console";
    ws.send(JSON.stringify({ type: "hello", protocol: 1, role: "staff", client, token: papan.token(), since: 0 }));
  };
  ws.onmessage = (message) => {
    state.lastHeard = Date.now();
    receive(JSON.parse(message.data));
  };
  ws.onclose = () => closed(ws);
}

// The connection `ws` ended (or was given up): show it and try again after a jittered backoff,
// so consoles that lost the hub together do not all come back in the same instant.
function closed(ws) {
  if (state.ws !== ws) return;
  state.ws = null;
  setOnline(false);
  if (state.refused) return;
  setTimeout(connect, state.backoff * (0.5 + Math.random()));
  state.backoff = Math.min(state.backoff * 2, 10000);
}

// A pulled cable closes nothing: TCP notices only minutes later. Silence is the sign, and so is
// a connection that does not come up within the same limit.
setInterval(() => {
  const ws = state.ws;
  if (!ws) return;
  const since = state.online ? state.lastHeard : state.connectingSince;
  if (Date.now() - since > silenceLimitMs) {
    ws.onclose = null;
    ws.onmessage = null;
    ws.close();
    closed(ws);
    return;
  }
  if (state.online && Date.now() - state.lastPing >= pingEveryMs) {
    state.lastPing = Date.now();
    ws.send(JSON.stringify({ type: "ping" }));
  }
}, 1000);

// 128 random bits: no two consoles (or reloads of one) ever send the same id.
function newCommandId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function setOnline(online) {
  state.online = online;
  const badge = $("link");
  badge.textContent = online ? "Terhubung" : state.refused ? "Tidak terhubung" : "Terputus — menyambung ulang…";
  badge.className = online ? "badge on" : "badge off";
  for (const button of document.querySelectorAll("#desk button:not(.quiet)")) button.disabled = !online;
}

function send(command, label) {
  const id = newCommandId();
  state.pending.set(id, { command, label });
  papan.say(`${label} …`, "wait");
  if (state.online) state.ws.send(JSON.stringify({ type: "command", id, command }));
}

function receive(frame) {
  switch (frame.type) {
    case "pong":
      break;
    case "welcome":
      state.backoff = 500;
      setOnline(true);
      // Commands that may not have arrived before the drop: same ids, applied at most once.
      for (const [id, { command }] of state.pending) state.ws.send(JSON.stringify({ type: "command", id, command }));
      break;
    case "snapshot":
      state.hall = frame.hall;
      state.board = frame.board;
      state.seq = frame.seq;
      $("hall-name").textContent = frame.hall.short_name;
      route();
      refreshWaiting();
      break;
    case "event":
      if (!state.board || frame.seq <= state.seq) break;
      if (frame.seq !== state.seq + 1) {
        state.ws.send(JSON.stringify({ type: "resync", since: state.seq }));
        break;
      }
      apply(frame);
      render();
      if (queueEvents.includes(frame.event.type)) refreshWaiting();
      if (state.acked.has(frame.seq)) {
        papan.say(state.acked.get(frame.seq)(frame.event), "ok");
        state.acked.delete(frame.seq);
      }
      break;
    case "ack": {
      const sent = state.pending.get(frame.id);
      if (!sent) break;
      state.pending.delete(frame.id);
      const done = (event) => describeDone(event, sent.label);
      if (frame.seq <= state.seq) {
        papan.say(frame.duplicate ? `${sent.label}: sudah dilakukan.` : `${sent.label}: selesai.`, "ok");
      } else {
        state.acked.set(frame.seq, done);
      }
      break;
    }
    case "error":
      if (frame.id && state.pending.has(frame.id)) state.pending.delete(frame.id);
      if (["bad_token", "forbidden", "protocol_version"].includes(frame.code) && !frame.id) {
        state.refused = true;
        papan.say(papan.errorText(frame.code), "error", frame.message);
        show("login");
        $("login-error")?.remove();
        $("login-form").append(papan.el("p", { id: "login-error", class: "error" }, papan.errorText(frame.code)));
        break;
      }
      papan.say(papan.errorText(frame.code, frame.field), "error", frame.message);
      break;
  }
}

function describeDone(event, label) {
  if (event.type === "done") return `Loket ${event.counter} selesai melayani.`;
  if (event.type === "no_show") return "Tidak hadir: nomor ini masuk daftar terlewat.";
  if (event.type === "call" || event.type === "recall") {
    const verb = event.type === "call" ? "Dipanggil" : "Dipanggil ulang";
    return `${verb}: ${event.ticket} → Loket ${event.counter}`;
  }
  return `${label}: selesai.`;
}

// The board reducer, as src/board.rs does it (enough for what the console shows).
function apply(frame) {
  const board = state.board;
  const event = frame.event;
  state.seq = frame.seq;
  board.seq = frame.seq;
  if (event.type === "call" || event.type === "recall") {
    const { record, recent } = papan.recordCall(board.recent, frame);
    const before = board.counters.find((c) => c.counter === event.counter && c.agency === event.agency);
    // The service runs from the ticket's first call at this counter (a recall does not restart it).
    const same = before && before.ticket === record.ticket;
    record.since = same ? before.since || frame.at : frame.at;
    record.service_state = same ? before.service_state : undefined;
    board.recent = recent;
    board.counters = board.counters.filter((c) => !(c.counter === event.counter && c.agency === event.agency));
    board.counters.push(record);
  } else if (event.type === "done" || event.type === "no_show") {
    const record = board.counters.find((c) => c.counter === event.counter && c.agency === event.agency);
    if (record) record.service_state = event.type;
  } else if (event.type === "clear") {
    board.counters = board.counters.filter((c) => !(c.counter === event.counter && c.agency === event.agency));
  } else if (event.type === "reset") {
    board.recent = [];
    board.counters = [];
  }
}

// ---- views --------------------------------------------------------------------------------

function show(view) {
  for (const id of ["login", "setup", "desk"]) $(id).hidden = id !== view;
  if (view === "login") $("token").focus();
}

function route() {
  if (!papan.token()) return show("login");
  if (!state.hall) return;
  const mine = chosenCounter();
  if (!mine) {
    fillCounters();
    return show("setup");
  }
  show("desk");
  $("desk-counter").textContent = `${mine.counter} · ${mine.agency.short}`;
  const phrases = $("phrase");
  phrases.replaceChildren(...state.hall.phrases.map((p) => papan.el("option", { value: p.id }, p.text)));
  render();
}

function fillCounters() {
  const select = $("counter");
  const options = [];
  for (const agency of state.hall.agencies) {
    for (const counter of agency.counters) {
      options.push(papan.el("option", { value: `${agency.id}/${counter}` }, `Loket ${counter} — ${agency.short}`));
    }
  }
  select.replaceChildren(...options);
}

function callItem(record) {
  const agency = state.hall.agencies.find((a) => a.id === record.agency);
  const offset = papan.zoneOffset(state.hall.timezone);
  return papan.el(
    "li",
    {},
    papan.el("span", { class: "t" }, record.ticket),
    papan.el("span", { class: "c" }, `Loket ${record.counter}`),
    papan.el("span", { class: "a" }, agency ? agency.short : record.agency),
    papan.el("span", { class: "at" }, papan.time(record.at, offset) + (record.recalls ? " · ulang" : "")),
  );
}

// The queues from the hub (GET /api/waiting), fetched once after a burst of queue events.
function refreshWaiting() {
  clearTimeout(state.waitingTimer);
  state.waitingTimer = setTimeout(async () => {
    const asked = ++state.waitingAsked;
    try {
      const waiting = await (await papan.api("GET", "/api/waiting")).json();
      if (asked < state.waitingShown) return;
      state.waitingShown = asked;
      state.waiting = waiting;
      render();
    } catch (_) {
      // The link's own badge says when the hub is out of reach; the next event fetches again.
    }
  }, 150);
}

// Minutes since the counter's ticket was first called, against its agency's service standard.
function renderElapsed(serving, agency) {
  const elapsed = $("elapsed");
  if (!serving || serving.service_state || !serving.since) {
    elapsed.textContent = serving && serving.service_state === "no_show" ? "Tidak hadir" : serving && serving.service_state ? "Selesai" : "";
    elapsed.className = "sub";
    return;
  }
  const minutes = Math.max(0, Math.floor((Date.now() - Date.parse(serving.since)) / 60000));
  const standard = agency.standard_minutes;
  elapsed.textContent = standard ? `${minutes} mnt dari standar ${standard} mnt` : `${minutes} mnt dilayani`;
  elapsed.className = standard && minutes > standard ? "sub over" : "sub";
}

function missedItem(missed) {
  const offset = papan.zoneOffset(state.hall.timezone);
  const again = papan.el("button", { type: "button" }, "Panggil lagi");
  again.addEventListener("click", () => {
    if (state.online) sendAtCounter({ type: "call", ticket: missed.ticket }, `Panggil lagi ${missed.ticket}`);
  });
  return papan.el(
    "li",
    { class: "missed" },
    papan.el("span", { class: "t" }, missed.ticket),
    papan.el("span", { class: "c" }, `Loket ${missed.counter}`),
    papan.el("span", { class: "at" }, `sampai ${papan.time(missed.until, offset)}`),
    again,
  );
}

function render() {
  const mine = chosenCounter();
  if (!mine || !state.board) return;
  const here = (r) => r.counter === mine.counter && r.agency === mine.agency.id;
  const serving = state.board.counters.find(here);
  $("serving").textContent = serving ? serving.ticket : "—";
  renderElapsed(serving, mine.agency);
  const queue = state.waiting && state.waiting.agencies.find((a) => a.agency === mine.agency.id);
  $("waiting").textContent = queue ? String(queue.waiting) : "—";
  $("band").textContent = queue
    ? (queue.priority_waiting ? `${queue.priority_waiting} prioritas · ` : "") + `perkiraan ${queue.estimate_text}`
    : "Tiket tidak dicatat hub";
  const missed = queue ? queue.missed : [];
  $("missed").replaceChildren(...(missed.length ? missed.map(missedItem) : [papan.el("li", { class: "empty" }, "Tidak ada.")]));
  $("on-screen").replaceChildren(...state.board.recent.slice(0, 8).map(callItem));
  const list = state.board.recent.filter(here).slice(0, 8);
  $("mine").replaceChildren(...(list.length ? list.map(callItem) : [papan.el("li", { class: "empty" }, "Belum ada panggilan hari ini.")]));
}


// ---- actions ------------------------------------------------------------------------------

// Sends `command` for this console's counter. There is none before the snapshot has brought the
// hall, or once another tab of this browser chose its counter anew ("Ganti loket" forgets it for
// every tab): say so rather than drop the action without a word.
function sendAtCounter(command, label) {
  const mine = chosenCounter();
  if (!mine) {
    const why = state.hall
      ? "loket untuk halaman ini belum dipilih. Muat ulang halaman lalu pilih loket."
      : "data loket dari hub belum diterima. Coba lagi sebentar.";
    papan.say(`${label}: belum bisa, ${why}`, "error");
    return;
  }
  send({ ...command, counter: mine.counter, agency: mine.agency.id }, label);
}

function callNext() {
  if (state.online) sendAtCounter({ type: "call_next" }, "Panggil berikutnya");
}

function recall() {
  if (state.online) sendAtCounter({ type: "recall" }, "Panggil ulang");
}

function finish() {
  if (state.online) sendAtCounter({ type: "done" }, "Selesai");
}

$("next").addEventListener("click", callNext);
$("recall").addEventListener("click", recall);
$("done").addEventListener("click", finish);
$("no-show").addEventListener("click", () => {
  if (state.online) sendAtCounter({ type: "no_show" }, "Tidak hadir");
});
$("clear").addEventListener("click", () => sendAtCounter({ type: "clear" }, "Kosongkan loket"));
$("call-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const ticket = $("ticket").value.trim();
  if (!ticket) return;
  // The same forms the hub accepts: 1–3 letters, then 1–9999 (A-123, a123, AP-7).
  if (!/^[A-Za-z]{1,3}-?0*[1-9][0-9]{0,3}$/.test(ticket)) {
    papan.say("Tulis nomor antrean seperti A-123.", "error");
    return;
  }
  sendAtCounter({ type: "call", ticket }, `Panggil ${ticket.toUpperCase()}`);
  $("ticket").value = "";
});
$("announce-form").addEventListener("submit", (e) => {
  e.preventDefault();
  send({ type: "announce", phrase: $("phrase").value }, "Pengumuman");
});
$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  $("login-error")?.remove();
  papan.clearMessage();
  papan.saveToken($("token").value.trim());
  state.refused = false;
  if (state.ws) state.ws.close();
  else connect();
});
$("setup-form").addEventListener("submit", (e) => {
  e.preventDefault();
  localStorage.setItem(counterKey, $("counter").value);
  // The connection names the counter in the hub's log: reconnect under the new name. Until the
  // new connection is up the desk says so (and its buttons wait), not the old "Terhubung".
  route();
  if (state.ws) {
    state.ws.close();
    setOnline(false);
  }
});
$("change-counter").addEventListener("click", () => {
  localStorage.removeItem(counterKey);
  route();
});
$("logout").addEventListener("click", () => {
  papan.forgetToken();
  state.refused = true;
  if (state.ws) state.ws.close();
  show("login");
});
document.addEventListener("keydown", (e) => {
  if ($("desk").hidden || e.target.matches("input, select, textarea")) return;
  if (e.key === "F2") {
    e.preventDefault();
    callNext();
  } else if (e.key === "F3") {
    e.preventDefault();
    recall();
  } else if (e.key === "F4") {
    e.preventDefault();
    finish();
  }
});

// The elapsed service time moves on with the clock.
setInterval(render, 15000);

setOnline(false);
if (papan.token()) connect();
else show("login");
