// papan — the ticket kiosk (/ambil) for halls without a ticket system: a citizen taps the
// service, optionally a priority kind, and gets a number with the people ahead and the wait band
// (docs/waiting.md), shown big and printed on the receipt printer with a QR code to the phone page.
// It needs a kiosk token, which can do nothing but hand out tickets.
"use strict";

const $ = (id) => document.getElementById(id);
// How long a ticket stays on screen before the kiosk is ready for the next citizen.
const showTicketMs = 20000;

const kiosk = { hall: null, waiting: null, kind: null, busy: false, back: null };

// ?kertas=58 for 58 mm receipt paper (80 mm otherwise).
if (new URLSearchParams(location.search).get("kertas") === "58") {
  document.head.append(papan.el("link", { rel: "stylesheet", href: "/receipt-58.css" }));
}

async function refresh() {
  try {
    if (!kiosk.hall) kiosk.hall = await (await papan.api("GET", "/api/hall")).json();
    kiosk.waiting = await (await papan.api("GET", "/api/waiting")).json();
  } catch (error) {
    if (["bad_token", "http_401"].includes(error.code)) return papan.signIn(error);
    return say(papan.errorText(error.code), error.message);
  }
  $("hall-name").textContent = kiosk.hall.name;
  renderAgencies();
}

// The agencies' buttons under their groups' headings (the hall file's `group`), in hall order.
function renderAgencies() {
  const groups = new Map();
  for (const agency of kiosk.hall.agencies.filter((a) => a.letters.length > 0)) {
    const group = agency.group || "Layanan lainnya";
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(agency);
  }
  const sections = [...groups].map(([group, agencies]) =>
    papan.el("section", { class: "group" }, papan.el("h2", {}, group), papan.el("div", { class: "agencies" }, ...agencyButtons(agencies))),
  );
  $("agencies").replaceChildren(...sections);
}

function agencyButtons(agencies) {
  return agencies.map((agency) => {
    const queue = kiosk.waiting.agencies.find((a) => a.agency === agency.id);
    const line = queue ? `Menunggu ${queue.waiting} · ${queue.estimate_text}` : "Belum ada antrean";
    const button = papan.el("button", { type: "button", class: "agency", "data-agency": agency.id },
      papan.el("span", {}, agency.short), papan.el("span", { class: "w" }, line));
    button.style.borderLeftColor = agency.colour;
    button.addEventListener("click", () => take(agency));
    return button;
  });
}

function say(text, detail) {
  const box = $("message");
  box.hidden = !text;
  box.className = "message error";
  box.replaceChildren(papan.el("span", {}, text || ""), ...(detail ? [papan.el("small", {}, detail)] : []));
}

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "kiosk-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Hands out a ticket at `agency`. The id goes with the retry, so a lost answer never makes two.
async function take(agency) {
  if (kiosk.busy) return;
  kiosk.busy = true;
  const body = JSON.stringify({ id: newId(), agency: agency.id, ...(kiosk.kind ? { priority: kiosk.kind } : {}) });
  try {
    let answer = null;
    for (let attempt = 0; attempt < 3 && !answer; attempt++) {
      try {
        const response = await fetch("/api/tickets", {
          method: "POST",
          headers: { Authorization: `Bearer ${papan.token()}`, "Content-Type": "application/json" },
          body,
        });
        const json = await response.json();
        if (!response.ok) return say(papan.errorText(json.error.code, json.error.field), json.error.message);
        answer = json;
      } catch (_) {
        // The network blinked: the same id again.
      }
    }
    if (!answer) return say("Hub tidak terjangkau. Coba lagi sebentar lagi.");
    say("");
    await showTicket(agency, answer);
  } finally {
    kiosk.busy = false;
  }
}

async function showTicket(agency, answer) {
  const issued = answer.issued;
  const offset = papan.zoneOffset(kiosk.hall.timezone);
  $("r-hall").textContent = kiosk.hall.name;
  $("r-ticket").textContent = issued.ticket;
  const kinds = { lansia: "Lansia", disabilitas: "Disabilitas", ibu_hamil: "Ibu hamil" };
  $("r-priority").textContent = issued.priority ? `PRIORITAS · ${kinds[issued.priority]}` : "";
  $("r-agency").textContent = agency.name;
  $("r-ahead").textContent = issued.ahead === 0 ? "Tidak ada antrean di depan Anda" : `${issued.ahead} orang di depan Anda`;
  $("r-estimate").textContent = issued.estimate
    ? `Perkiraan menunggu: ${answer.estimate_text}`
    : "Perkiraan waktu tunggu belum tersedia";
  $("r-time").textContent = `${kiosk.waiting.day || ""} · ${papan.time(new Date().toISOString(), offset)} ${kiosk.hall.timezone}`;
  $("r-qr").replaceChildren();
  // The citizen's own page for this ticket (the phone page), where the hall publishes it.
  const phone = `${kiosk.hall.public_url || location.origin}/antrean/${issued.ticket}`;
  $("r-qr").dataset.url = phone;
  try {
    const svg = await (await papan.api("GET", `/api/qr?data=${encodeURIComponent(phone)}`)).text();
    $("r-qr").innerHTML = svg.replace(/^<\?xml[^>]*>/, "");
  } catch (_) {
    // A receipt without its QR code still has the number.
  }
  kiosk.kind = null;
  for (const b of document.querySelectorAll(".kind")) b.classList.remove("on");
  $("choose").hidden = true;
  $("ticket-view").hidden = false;
  document.body.dataset.ticket = issued.ticket;
  window.print();
  clearTimeout(kiosk.back);
  kiosk.back = setTimeout(backToChoice, showTicketMs);
  refresh();
}

function backToChoice() {
  clearTimeout(kiosk.back);
  $("ticket-view").hidden = true;
  $("choose").hidden = false;
}

for (const button of document.querySelectorAll(".kind")) {
  button.addEventListener("click", () => {
    kiosk.kind = kiosk.kind === button.dataset.kind ? null : button.dataset.kind;
    for (const b of document.querySelectorAll(".kind")) b.classList.toggle("on", b.dataset.kind === kiosk.kind);
  });
}
$("again").addEventListener("click", backToChoice);

setInterval(() => {
  if (kiosk.hall) $("clock").textContent = papan.time(new Date().toISOString(), papan.zoneOffset(kiosk.hall.timezone));
}, 1000);

papan.staffPage("choose", refresh, 15000);
