// papan — the city page: every hall on the NATS cluster from GET /api/halls (refreshed every
// 2 s), and a ticker or prerecorded announcement sent to the halls ticked above.
"use strict";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 2000;
// Halls the user unticked stay unticked across refreshes; new halls arrive ticked.
const unticked = new Set();
let halls = [];

function lastCall(hall) {
  const call = hall.recent[0];
  if (!call) return "—";
  return papan.el("span", {}, papan.el("strong", {}, call.ticket), ` → loket ${call.counter} `,
    papan.el("small", {}, `${call.agency}, ${papan.time(call.at, papan.zoneOffset(hall.timezone))} ${hall.timezone}`));
}

function troubled(hall) {
  const bad = hall.screens.filter((s) => !s.online || s.problem);
  if (!bad.length) return papan.el("td", {}, "—");
  return papan.el("td", { class: "error" }, ...bad.flatMap((s, i) => [
    i ? papan.el("br") : null,
    `${s.screen}: ${s.online ? s.problem : "luring, " + papan.ago(s.last_seen)}`,
  ]));
}

// A hall closed for good is taken off the list (and out of "all halls"); it comes back if its
// hubs report again.
function forgetButton(hall) {
  const button = papan.el("button", { type: "button", class: "link", "data-forget": hall.hall_id }, "Lupakan aula ini");
  button.addEventListener("click", async () => {
    const question = `Lupakan ${hall.name} (${hall.hall_id})? Aula ini tidak lagi tercantum dan tidak ikut ` +
      `dikirimi teks atau pengumuman "semua aula". Bila hubnya melapor lagi, aula ini muncul kembali.`;
    if (!window.confirm(question)) return;
    try {
      await papan.api("DELETE", `/api/halls/${encodeURIComponent(hall.hall_id)}`);
      papan.say(`${hall.name} tidak lagi tercantum.`, "ok");
    } catch (error) {
      papan.say(`${hall.name}: ${papan.errorText(error.code)}`, "error", error.message);
    }
    refresh();
  });
  return button;
}

function row(hall) {
  const hubsUp = hall.hubs.filter((h) => h.online).length;
  return papan.el(
    "tr",
    { "data-hall": hall.hall_id },
    papan.el("td", {}, papan.el("strong", {}, hall.name), papan.el("br"), papan.el("small", {}, hall.hall_id)),
    hall.online
      ? papan.el("td", { class: "state-on" }, "Terhubung")
      : papan.el("td", { class: "state-off" }, `Terputus, ${papan.ago(hall.last_heard)}`, papan.el("br"), forgetButton(hall)),
    papan.el("td", {}, `${hubsUp} dari ${hall.hubs.length}`),
    papan.el("td", {}, hall.seq),
    papan.el("td", {}, `${hall.screens_online} dari ${hall.screens.length}`),
    papan.el("td", {}, hall.max_lag ?? "—"),
    papan.el("td", {}, lastCall(hall)),
    troubled(hall),
  );
}

function targets() {
  return halls.map((h) => h.hall_id).filter((id) => !unticked.has(id));
}

function showTargets() {
  const boxes = halls.map((hall) => {
    const box = papan.el("input", { type: "checkbox", value: hall.hall_id });
    box.checked = !unticked.has(hall.hall_id);
    box.addEventListener("change", () => {
      if (box.checked) unticked.delete(hall.hall_id);
      else unticked.add(hall.hall_id);
      showPhrases();
    });
    return papan.el("label", { class: "target" }, box, ` ${hall.name} `, papan.el("small", {}, hall.hall_id));
  });
  $("targets").replaceChildren(...(boxes.length ? boxes : [papan.el("p", {}, "Belum ada aula yang melapor.")]));
}

// Only phrases every chosen hall has: an announcement is a prerecorded clip in each hall.
function showPhrases() {
  const chosen = halls.filter((h) => !unticked.has(h.hall_id));
  const common = chosen.length
    ? chosen[0].phrases.filter((p) => chosen.every((h) => h.phrases.some((q) => q.id === p.id)))
    : [];
  const select = $("announce-phrase");
  const before = select.value;
  select.replaceChildren(...common.map((p) => papan.el("option", { value: p.id }, p.text)));
  if (common.some((p) => p.id === before)) select.value = before;
  $("announce-send").disabled = !common.length;
}

async function refresh() {
  try {
    halls = (await (await papan.api("GET", "/api/halls")).json()).halls;
    const online = halls.filter((h) => h.online).length;
    $("summary").textContent = `${online} dari ${halls.length} aula terhubung`;
    $("summary").className = online === halls.length && halls.length ? "badge on" : "badge off";
    const rows = halls.map(row);
    $("halls").replaceChildren(...(rows.length ? rows : [papan.el("tr", {}, papan.el("td", { colspan: 8 }, "Belum ada aula yang melapor."))]));
    const known = [...$("targets").querySelectorAll("input")].map((b) => b.value).join();
    if (known !== halls.map((h) => h.hall_id).join()) {
      showTargets();
      showPhrases();
    }
  } catch (error) {
    if (error.code === "bad_token" || error.code === "forbidden") return papan.signIn(error);
    $("summary").textContent = "Tampilan kota tidak terjangkau";
    $("summary").className = "badge off";
  }
}

// Sends to the ticked halls and says, per hall, whether it was stored.
async function send(path, body, what) {
  const chosen = targets();
  if (!chosen.length) return papan.say("Pilih paling sedikit satu aula.", "error");
  papan.say(`${what}: mengirim ke ${chosen.length} aula…`, "wait");
  let answer;
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { Authorization: `Bearer ${papan.token()}`, "Content-Type": "application/json" },
      body: JSON.stringify({ ...body, halls: chosen }),
    });
    answer = await response.json();
  } catch (error) {
    return papan.say(`${what}: tampilan kota tidak terjangkau.`, "error", String(error));
  }
  if (answer.error) return papan.say(`${what}: ${papan.errorText(answer.error.code, answer.error.field)}`, "error", answer.error.message);
  const failed = Object.entries(answer.halls).filter(([, r]) => r.error);
  if (!failed.length) return papan.say(`${what}: diterima ${chosen.length} aula.`, "ok");
  papan.say(
    `${what}: ${failed.length} dari ${chosen.length} aula tidak menerima.`,
    "error",
    failed.map(([hall, r]) => `${hall}: ${papan.errorText(r.error.code)} (${r.error.message})`).join(" · "),
  );
}

$("ticker-form").addEventListener("submit", (e) => {
  e.preventDefault();
  send("/api/ticker", { text: $("ticker-text").value.trim() }, "Teks berjalan");
});

$("announce-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const select = $("announce-phrase");
  send("/api/announce", { phrase: select.value }, `Pengumuman "${select.selectedOptions[0]?.text || select.value}"`);
});

papan.staffPage("city", refresh, REFRESH_MS);
