// The citizens' phone page: the hall's queues live over /antrean/live, and one ticket followed.
"use strict";
const $ = (id) => document.getElementById(id);
// The page lives at …/antrean or …/antrean/A-124 (a proxy may put it under a prefix).
const base = location.pathname.replace(/\/antrean(\/.*)?$/, "/antrean");
let socket = null, retry = 1, view = null, followed = null, lastState = null, audio = null;
window.papanAlerts = 0;

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const clock = (at) => new Date(at).toLocaleTimeString("id-ID", { hour: "2-digit", minute: "2-digit" });
const agencyName = (id) => (view && view.agencies.find((a) => a.id === id) || { name: id }).name;

function normalise(text) {
  const m = String(text).trim().toUpperCase().match(/^([A-Z]{1,3})\s*-?\s*(\d{1,4})$/);
  return m ? m[1] + "-" + m[2].padStart(3, "0") : null;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(scheme + "//" + location.host + base + "/live");
  socket.onopen = () => {
    retry = 1;
    $("link").textContent = "Terhubung · diperbarui langsung";
    $("link").className = "link live";
    if (followed) socket.send(JSON.stringify({ ticket: followed }));
  };
  socket.onmessage = (e) => {
    const frame = JSON.parse(e.data);
    if (frame.type === "view") { view = frame.view; showView(); }
    else if (frame.type === "changes" && view) { applyChanges(frame); showView(); }
    else if (frame.type === "ticket" && frame.ticket === followed) showTicket(frame.status);
    else if (frame.type === "error") showProblem(frame.message);
  };
  socket.onclose = () => {
    $("link").textContent = "Koneksi terputus · menyambung ulang…";
    $("link").className = "link";
    setTimeout(connect, retry * 1000);
    retry = Math.min(retry * 2, 30);
  };
}

// A call changes one agency: the hub sends it alone, and the page puts it in its place.
function applyChanges(frame) {
  const changed = new Map(frame.agencies.map((a) => [a.id, a]));
  view.agencies = view.agencies
    .filter((a) => !frame.gone.includes(a.id) && !changed.has(a.id))
    .concat(frame.agencies)
    .sort((a, b) => a.order - b.order);
  view.hall = frame.hall;
  view.day = frame.day;
  view.quiet = frame.quiet;
}

function showView() {
  $("hall").textContent = view.hall;
  document.title = "Antrean · " + view.hall;
  const active = view.agencies;
  $("agencies").innerHTML = active.length ? active.map((a) =>
    '<div class="agency"><b>' + esc(a.name) + "</b>" +
    '<div class="now">' + (a.serving.length
      ? a.serving.map((s) => '<span class="chip">' + esc(s.ticket) + " · Loket " + s.counter + "</span>").join(" ")
      : '<span class="quiet">Belum ada yang dilayani</span>') + "</div>" +
    (a.queues ? '<div class="wait">Menunggu ' + a.waiting + " orang" +
      (a.estimate_text === "—" ? "" : " · nomor baru menunggu " + esc(a.estimate_text)) + "</div>" : "") +
    "</div>"
  ).join("") : '<p class="quiet">Belum ada panggilan hari ini.</p>';
  $("others").textContent = view.quiet ? view.quiet + " instansi lain belum memanggil hari ini." : "";
}

function showTicket(status) {
  const box = $("mine");
  box.hidden = false;
  box.className = "mine " + status.state;
  let state = "", more = "";
  switch (status.state) {
    case "waiting":
      state = "Menunggu";
      more = (status.ahead ? status.ahead + " orang di depan Anda" : "Anda berikutnya") +
        " · " + esc(agencyName(status.agency)) + "<br>Perkiraan: " +
        (status.estimate_text === "—" ? "belum tersedia" : esc(status.estimate_text));
      break;
    case "called":
      state = "Silakan menuju Loket " + status.counter;
      more = "Dipanggil " + clock(status.at) + " · " + esc(agencyName(status.agency));
      break;
    case "missed":
      state = "Terlewat di Loket " + status.counter;
      more = "Segera lapor ke petugas sebelum pukul " + clock(status.until) + ".";
      break;
    case "done":
      state = "Selesai dilayani";
      more = "Loket " + status.counter + " · " + esc(agencyName(status.agency)) + ". Terima kasih.";
      break;
    case "past":
      state = "Sudah dipanggil hari ini";
      more = "Nomor ini tidak lagi dalam antrean.";
      break;
    default:
      state = "Belum diambil hari ini";
      more = "Periksa nomor pada tiket Anda.";
  }
  box.innerHTML = '<div class="no">' + esc(followed) + '</div><div class="state">' + state +
    '</div><div class="more">' + more + "</div>" +
    (status.state === "waiting" && !audio ? '<div class="hint">Sentuh layar sekali agar ponsel berbunyi saat dipanggil.</div>' : "");
  if (status.state === "called" && lastState !== "called") alertCalled();
  lastState = status.state;
  offerSurvey(status.state === "done");
}

function showProblem(message) {
  const box = $("mine");
  box.hidden = false;
  box.className = "mine";
  box.innerHTML = '<div class="state">' + esc(message) + "</div>";
}

// Browsers let a page sound only after it was touched; vibration works without.
function unlockSound() {
  if (audio) return;
  const Context = window.AudioContext || window.webkitAudioContext;
  if (Context) { audio = new Context(); audio.resume(); }
}
["pointerdown", "keydown", "touchstart"].forEach((e) => addEventListener(e, unlockSound, { once: true, passive: true }));

function alertCalled() {
  window.papanAlerts++;
  if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
  if (!audio) return;
  [0, 0.35].forEach((delay) => {
    const tone = audio.createOscillator(), gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.3;
    tone.connect(gain).connect(audio.destination);
    tone.start(audio.currentTime + delay);
    tone.stop(audio.currentTime + delay + 0.25);
  });
}

// After "Selesai" the page asks once how the service was. What this phone answered is kept on
// it, so it does not ask again; the hub takes one answer per ticket whatever phone sends it.
const RATED_KEY = "papan.rated";
let rating = null;
const rated = () => { try { return JSON.parse(localStorage.getItem(RATED_KEY)) || []; } catch (_) { return []; } };
function remember(ticket) {
  try { localStorage.setItem(RATED_KEY, JSON.stringify(rated().concat(ticket).slice(-20))); } catch (_) { /* private mode */ }
}

function offerSurvey(done) {
  const ask = done && !rated().includes((view && view.day) + "/" + followed);
  if (ask && $("survey").hidden) { rating = null; choose(null); $("comment").value = ""; $("thanks").hidden = true; }
  $("survey").hidden = !ask;
}

function choose(value) {
  rating = value;
  document.querySelectorAll("[data-rating]").forEach((b) => b.classList.toggle("chosen", b.dataset.rating === value));
  $("send").disabled = !value;
}
document.querySelectorAll("[data-rating]").forEach((b) => b.addEventListener("click", () => choose(b.dataset.rating)));

const SURVEY_ANSWERS = {
  already_answered: "Penilaian untuk nomor ini sudah kami terima. Terima kasih.",
  not_served: "Penilaian hanya untuk nomor yang sudah selesai dilayani hari ini.",
  rate_limited: "Terlalu banyak penilaian dari jaringan ini. Coba lagi sebentar lagi.",
  invalid_command: "Komentar terlalu panjang (paling banyak 500 huruf).",
};

$("survey").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!rating || !followed) return;
  const ticket = followed;
  $("send").disabled = true;
  let text = "Penilaian belum terkirim. Periksa koneksi lalu coba lagi.", final = false;
  try {
    const response = await fetch(base + "/penilaian", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ticket, rating, comment: $("comment").value.trim() || null }),
    });
    if (response.ok) { text = "Terima kasih atas penilaian Anda."; final = true; }
    else {
      const code = ((await response.json().catch(() => ({}))).error || {}).code;
      text = SURVEY_ANSWERS[code] || text;
      final = code === "already_answered" || code === "not_served";
    }
  } catch (_) { /* offline: the text above says so */ }
  if (final) { remember((view && view.day) + "/" + ticket); $("survey").hidden = true; }
  else $("send").disabled = false;
  $("thanks").textContent = text;
  $("thanks").hidden = false;
});

// The agencies' Standar Pelayanan, fetched when asked for (most visitors only follow a ticket).
async function showStandards() {
  const box = $("standards");
  box.hidden = false;
  box.innerHTML = '<p class="quiet">Memuat…</p>';
  try {
    const { agencies } = await (await fetch(base + "/layanan")).json();
    box.innerHTML = agencies.length ? agencies.map((a) =>
      "<details><summary>" + esc(a.name) + "</summary>" + a.services.map((s) =>
        "<details><summary>" + esc(s.name) + (s.example ? '<span class="example">CONTOH</span>' : "") + "</summary>" +
        (s.requirements.length ? "<b>Persyaratan</b><ul>" + s.requirements.map((r) => "<li>" + esc(r) + "</li>").join("") + "</ul>" : "") +
        (s.time ? "<div><b>Jangka waktu:</b> " + esc(s.time) + "</div>" : "") +
        (s.cost ? "<div><b>Biaya:</b> " + esc(s.cost) + "</div>" : "") +
        (s.example ? '<p class="quiet">Contoh isian, bukan standar resmi instansi.</p>' : "") +
        "</details>").join("") + "</details>"
    ).join("") : '<p class="quiet">Standar pelayanan belum diisi untuk aula ini.</p>';
    $("show-standards").hidden = true;
  } catch (_) {
    box.innerHTML = '<p class="quiet">Belum bisa dimuat. Coba lagi.</p>';
  }
}
$("show-standards").addEventListener("click", showStandards);

function follow(text) {
  const ticket = normalise(text);
  if (!ticket) { showProblem("Tulis nomor seperti A-124"); return; }
  followed = ticket;
  lastState = null;
  $("thanks").hidden = true;
  $("ticket").value = ticket;
  history.replaceState(null, "", base + "/" + ticket);
  if (socket && socket.readyState === 1) socket.send(JSON.stringify({ ticket }));
}

$("follow").addEventListener("submit", (e) => { e.preventDefault(); unlockSound(); follow($("ticket").value); });
const fromPath = decodeURIComponent(location.pathname.slice(base.length + 1));
if (fromPath) follow(fromPath);
connect();
