// papan — the fleet page: every screen of the hall from GET /api/screens (refreshed every 2 s),
// with actions: screenshot, identify, reload, and removing a screen that is gone for good. What a
// screen reports may be missing or odd: every value is shown only when it is what it should be.
"use strict";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 2000;
const SHOT_WAIT_MS = 20000;

// The screen's layout and voice-pack problems, one per line.
function problems(s) {
  const found = [s.layout_error, s.voice_error].filter(Boolean);
  if (!found.length) return papan.el("td", {}, "—");
  return papan.el("td", { class: "error" }, ...found.flatMap((p, i) => (i ? [papan.el("br"), p] : [p])));
}

const isNumber = (n) => typeof n === "number" && Number.isFinite(n);

function row(screen) {
  const s = screen.status || {};
  const action = (label, handler) => papan.el("button", { type: "button", onclick: handler, "data-action": label }, label);
  const online = screen.online;
  // Two PCs sharing one screen id: both report as one screen and take each other's actions.
  const shared = screen.connections > 1;
  const state = online ? (shared ? `Daring · ${screen.connections} koneksi dengan id ini!` : "Daring") : "Luring";
  const actions = online
    ? [
        action("Tangkapan layar", () => screenshot(screen.screen)),
        action("Identifikasi", () => act(screen.screen, "identify", "Nomor layar tampil 10 detik di layar")),
        action("Muat ulang", () => act(screen.screen, "reload", "Data aula dan tata letak dikirim ulang ke layar")),
      ]
    : [action("Hapus", () => remove(screen.screen))];
  return papan.el(
    "tr",
    { "data-screen": screen.screen, class: shared ? "warn" : "" },
    papan.el("td", {}, papan.el("strong", {}, screen.screen), papan.el("br"), papan.el("small", {}, screen.peer)),
    papan.el("td", { class: online && !shared ? "state-on" : "state-off" }, state),
    papan.el("td", {}, s.layout || "—"),
    papan.el("td", {}, s.version || "—"),
    papan.el("td", {}, screen.last_seen ? papan.ago(screen.last_seen) : "—"),
    papan.el("td", {}, isNumber(s.last_seq) ? `${s.last_seq} (${screen.lag ?? "?"})` : "—"),
    papan.el("td", {}, isNumber(s.fps) ? s.fps.toFixed(1) : "—"),
    papan.el("td", {}, isNumber(s.rss) && s.rss > 0 ? `${Math.round(s.rss / 1048576)} MiB` : "—"),
    papan.el("td", {}, s.audio || "—"),
    problems(s),
    papan.el("td", { class: "actions-cell" }, ...actions),
  );
}

async function remove(screen) {
  try {
    await papan.api("DELETE", `/api/screens/${encodeURIComponent(screen)}`);
    papan.say(`${screen}: dihapus dari daftar layar.`, "ok");
    refresh();
  } catch (error) {
    papan.say(`${screen}: ${papan.errorText(error.code)}`, "error", error.message);
  }
}

async function refresh() {
  try {
    const listing = await (await papan.api("GET", "/api/screens")).json();
    const online = listing.screens.filter((s) => s.online).length;
    $("summary").textContent = `${online} dari ${listing.screens.length} layar daring · seq ${listing.seq}`;
    $("summary").className = online === listing.screens.length ? "badge on" : "badge off";
    const rows = listing.screens.map(row);
    $("screens").replaceChildren(...(rows.length ? rows : [papan.el("tr", {}, papan.el("td", { colspan: 11 }, "Belum ada layar yang terhubung."))]));
  } catch (error) {
    if (error.code === "bad_token" || error.code === "forbidden") return papan.signIn(error);
    $("summary").textContent = "Hub tidak terjangkau";
    $("summary").className = "badge off";
  }
}

async function act(screen, action, done) {
  try {
    await papan.api("POST", `/api/screens/${encodeURIComponent(screen)}/${action}`);
    papan.say(`${screen}: ${done}.`, "ok");
  } catch (error) {
    papan.say(`${screen}: ${papan.errorText(error.code)}`, "error", error.message);
  }
}

async function screenshot(screen) {
  const path = `/api/screens/${encodeURIComponent(screen)}/screenshot`;
  const asked = Date.now();
  try {
    await papan.api("POST", `${path}-request`);
  } catch (error) {
    return papan.say(`${screen}: ${papan.errorText(error.code)}`, "error", error.message);
  }
  papan.say(`${screen}: meminta tangkapan layar…`, "wait");
  while (Date.now() - asked < SHOT_WAIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    let response;
    try {
      response = await papan.api("GET", path);
    } catch (_) {
      continue; // none yet
    }
    const taken = Date.parse(response.headers.get("x-papan-taken-at"));
    // Clocks of browser and hub may differ by a little; a shot from before the request is old.
    if (taken + 2000 < asked) continue;
    const image = $("shot-image");
    if (image.src) URL.revokeObjectURL(image.src);
    image.src = URL.createObjectURL(await response.blob());
    $("shot-title").textContent = `${screen} · ${new Date(taken).toLocaleTimeString("id-ID")}`;
    $("shot").hidden = false;
    return papan.say(`${screen}: tangkapan layar diterima.`, "ok");
  }
  papan.say(`${screen}: layar tidak mengirim tangkapan layar dalam ${SHOT_WAIT_MS / 1000} detik.`, "error");
}

papan.staffPage("fleet", refresh, REFRESH_MS);
