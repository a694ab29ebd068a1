// papan — shared by the staff console and the fleet page: the saved token, Indonesian error
// texts for the hub's error codes, and small DOM helpers. No framework, no build step.
"use strict";

const papan = {
  tokenKey: "papan.token",

  token() {
    return localStorage.getItem(this.tokenKey) || "";
  },

  saveToken(token) {
    localStorage.setItem(this.tokenKey, token);
  },

  forgetToken() {
    localStorage.removeItem(this.tokenKey);
  },

  // What staff read when the hub refuses; the hub's own (English) message is shown under it.
  // `field` (the command field at fault, when the hub names one) makes it precise.
  errorText(code, field) {
    const precise = {
      "invalid_command/ticket": "Huruf nomor antrean ini bukan milik loket ini.",
      "invalid_command/letter": "Huruf ini bukan milik loket ini, atau nomornya sudah habis hari ini.",
      "invalid_command/agency": "Nomor loket ini ada di beberapa instansi; pilih loket lagi.",
      "invalid_command/text": "Teks terlalu panjang.",
    };
    if (precise[`${code}/${field}`]) return precise[`${code}/${field}`];
    const texts = {
      bad_token: "Token salah atau tidak dikenal hub.",
      forbidden: "Token ini tidak boleh melakukan ini (pakai token petugas).",
      unknown_counter: "Loket ini tidak ada di data aula.",
      unknown_agency: "Instansi ini tidak ada di data aula.",
      invalid_command: "Permintaan tidak sah.",
      bad_frame: "Permintaan tidak sah.",
      nothing_to_recall: "Belum ada nomor yang dipanggil di loket ini hari ini.",
      queue_empty: "Tidak ada nomor antrean yang menunggu.",
      not_serving: "Loket ini tidak sedang melayani nomor antrean.",
      unknown_phrase: "Pengumuman ini tidak ada di data aula.",
      rate_limited: "Terlalu banyak panggilan sekaligus; tunggu sebentar.",
      journal_unavailable: "Hub tidak dapat menyimpan panggilan. Hubungi teknisi.",
      shutting_down: "Hub sedang dimatikan; mencoba lagi sebentar lagi.",
      id_reused: "Nomor perintah ini sudah dipakai untuk perintah lain; perintah tidak dijalankan. Coba lagi.",
      too_many_connections: "Hub penuh; mencoba lagi sebentar lagi.",
      protocol_version: "Versi hub dan halaman ini tidak cocok; muat ulang halaman.",
      unknown_screen: "Layar ini belum pernah terhubung.",
      screen_offline: "Layar ini sedang tidak terhubung.",
      screen_busy: "Layar ini tidak menanggapi; coba lagi.",
      screen_online: "Layar ini sedang terhubung; hanya layar luring yang dapat dihapus.",
      screenshot_not_asked: "Tangkapan layar ini tidak diminta.",
      too_many_screens: "Hub sudah mencatat jumlah layar terbanyak; hapus layar lama di halaman Layar aula.",
      not_found: "Tidak ditemukan.",
      hall_unreachable: "Aula ini tidak terjangkau (jaringan kota terputus atau hubnya mati).",
      hall_online: "Aula ini masih melapor; matikan hubnya dulu, atau aula ini tercantum lagi.",
      unknown_hall: "Aula ini tidak dikenal tampilan kota.",
    };
    return texts[code] || "Ditolak oleh hub.";
  },

  // `el("div", {class: "x"}, "text", child)`: a new element.
  el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : String(child));
      }
    }
    return node;
  },

  // Shows the outcome of an action in the page's #message box (the hub's detail under it).
  say(text, kind, detail) {
    const box = document.getElementById("message");
    box.className = `message ${kind}`;
    box.replaceChildren(this.el("strong", {}, text));
    if (detail) box.append(this.el("small", {}, detail));
  },

  // Empties the #message box: a new sign-in starts, the last refusal no longer applies.
  clearMessage() {
    const box = document.getElementById("message");
    box.className = "message";
    box.replaceChildren();
  },

  // A call or recall event as the board records it (src/board.rs): the record, and the recent
  // calls with it first and its earlier entry (same ticket, counter and agency) gone.
  recordCall(recent, frame) {
    const event = frame.event;
    const same = (r) => r.ticket === event.ticket && r.counter === event.counter && r.agency === event.agency;
    const earlier = recent.find(same);
    const record = {
      seq: frame.seq, at: frame.at, ticket: event.ticket, counter: event.counter, agency: event.agency,
      recalls: event.type === "recall" ? (earlier ? earlier.recalls + 1 : 1) : 0,
    };
    return { record, recent: [record, ...recent.filter((r) => !same(r))].slice(0, 20) };
  },

  // Hours ahead of UTC of Indonesia's zones (none has daylight saving); WIB when unknown.
  zoneOffset(zone) {
    return { WIB: 7, WITA: 8, WIT: 9 }[zone] || 7;
  },

  // Hall-local clock time of a timestamp, e.g. "14.05".
  time(at, offsetHours) {
    const date = new Date(Date.parse(at) + (offsetHours || 7) * 3600 * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return `${pad(date.getUTCHours())}.${pad(date.getUTCMinutes())}`;
  },

  // Calls the hub's HTTP API with the saved token; throws {code, message} on refusal.
  async api(method, path) {
    const response = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${this.token()}` },
      cache: "no-store",
    });
    if (!response.ok) {
      let error = { code: "http_" + response.status, message: response.statusText };
      try {
        error = (await response.json()).error || error;
      } catch (_) {
        // Not JSON (e.g. a proxy's page): keep the status line.
      }
      throw error;
    }
    return response;
  },

  // How long ago a timestamp was, in words ("12 detik lalu").
  ago(at) {
    const secs = Math.max(0, Math.round((Date.now() - Date.parse(at)) / 1000));
    if (secs < 5) return "baru saja";
    if (secs < 120) return `${secs} detik lalu`;
    if (secs < 7200) return `${Math.round(secs / 60)} menit lalu`;
    return `${Math.round(secs / 3600)} jam lalu`;
  },

  // A page for staff tokens only: the login form until a token is saved, then `section`,
  // refreshed every `everyMs` by `refresh`, which calls papan.signIn(error) when refused.
  staffPage(section, refresh, everyMs) {
    const $ = (id) => document.getElementById(id);
    let timer = null;
    const start = () => {
      if (!this.token()) return this.signIn();
      $("login").hidden = true;
      $(section).hidden = false;
      refresh();
      clearInterval(timer);
      timer = setInterval(refresh, everyMs);
    };
    this.signIn = (error) => {
      clearInterval(timer);
      $(section).hidden = true;
      $("login").hidden = false;
      $("login-error")?.remove();
      if (error) $("login-form").append(this.el("p", { id: "login-error", class: "error" }, this.errorText(error.code)));
    };
    $("login-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.saveToken($("token").value.trim());
      start();
    });
    // Counter and office PCs are shared: signing out forgets the token on this browser.
    $("logout").addEventListener("click", () => {
      this.forgetToken();
      $("token").value = "";
      this.signIn();
    });
    start();
  },

  wsUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/ws`;
  },
};
