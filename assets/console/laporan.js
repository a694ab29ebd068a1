// papan — the day's report for staff: GET /api/report?day=D as a table, its two charts (SVG drawn
// by the hub, fetched with the token and shown as images) and the CSV for the city's systems.
"use strict";

const $ = (id) => document.getElementById(id);
const chartUrls = {};
const RATINGS = { tidak_baik: "Tidak baik", kurang_baik: "Kurang baik", baik: "Baik", sangat_baik: "Sangat baik" };

// "12,5" (Indonesian decimal comma), or "—" when there is no value.
function num(value, suffix) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  return value.toLocaleString("id-ID", { maximumFractionDigits: 1 }) + (suffix || "");
}

function share(s) {
  return s && s.of ? `${num(s.percent, " %")} (${s.part}/${s.of})` : "—";
}

function ikm(i) {
  return i && i.answers ? `${num(i.score)} ${i.category} (${i.answers})` : "—";
}

function row(a, tag) {
  const cell = (text) => papan.el(tag, {}, text);
  return papan.el(
    "tr",
    { "data-agency": a.id || "total" },
    papan.el(tag, { title: a.name }, a.short),
    cell(String(a.issued)),
    cell(String(a.served)),
    cell(String(a.no_show)),
    cell(String(a.unserved)),
    cell(num(a.wait.median_minutes)),
    cell(num(a.wait.p90_minutes)),
    cell(num(a.service.median_minutes)),
    cell(num(a.service.p90_minutes)),
    cell(a.standard_minutes ? `${share(a.within_standard)} ≤ ${a.standard_minutes} mnt` : share(a.within_standard)),
    cell(share(a.estimates)),
    cell(ikm(a.ikm)),
  );
}

function query() {
  const day = $("day").value;
  return day ? `?day=${encodeURIComponent(day)}` : "";
}

async function showChart(name) {
  const response = await papan.api("GET", `/api/report/chart/${name}${query()}`);
  const blob = new Blob([await response.text()], { type: "image/svg+xml" });
  if (chartUrls[name]) URL.revokeObjectURL(chartUrls[name]);
  chartUrls[name] = URL.createObjectURL(blob);
  $(`chart-${name}`).src = chartUrls[name];
}

async function refresh() {
  try {
    const report = await (await papan.api("GET", `/api/report${query()}`)).json();
    if (!$("day").value && report.day) $("day").value = report.day;
    $("rows").replaceChildren(...report.agencies.map((a) => row(a, "td")));
    $("total").replaceChildren(row(report.total, "th"));
    const shortName = new Map(report.agencies.map((a) => [a.id, a.short]));
    const zone = papan.zoneOffset(report.timezone);
    $("comments").replaceChildren(
      ...(report.comments.length
        ? report.comments.map((c) =>
            papan.el("li", {}, papan.el("strong", {}, `${papan.time(c.at, zone)} · ${shortName.get(c.agency) || c.agency} · ${RATINGS[c.rating] || c.rating}`), papan.el("br"), c.text))
        : [papan.el("li", { class: "quiet" }, "Belum ada komentar.")]),
    );
    const badge = $("summary");
    badge.textContent = `${report.hall} · ${report.day}`;
    badge.className = "badge on";
    // The city's report (papan city) has a row per hall and names the halls that did not answer.
    const city = "unreachable" in report;
    $("screens-link").hidden = city;
    const silent = Object.entries(report.unreachable || {});
    if (silent.length) papan.say("Aula yang tidak menjawab: " + silent.map(([hall]) => hall).join(", "), "error", silent.map(([, why]) => why).join("; "));
    else if (!report.agencies.length) papan.say("Belum ada tiket pada hari ini.", "wait");
    else papan.clearMessage();
    await Promise.all([showChart("hours"), showChart("waits")]);
  } catch (error) {
    if (error.code === "bad_token" || error.code === "forbidden") return papan.signIn(error);
    papan.say(papan.errorText(error.code), "error", error.message);
  }
}

$("day-form").addEventListener("submit", (e) => {
  e.preventDefault();
  refresh();
});

$("csv").addEventListener("click", async () => {
  try {
    const response = await papan.api("GET", `/api/report${query() ? query() + "&" : "?"}format=csv`);
    const link = $("download");
    link.href = URL.createObjectURL(new Blob([await response.text()], { type: "text/csv" }));
    link.download = `laporan-${$("day").value || "hari-ini"}.csv`;
    link.click();
  } catch (error) {
    papan.say(papan.errorText(error.code), "error", error.message);
  }
});

// Today's report fills as the day goes: refreshed every minute.
papan.staffPage("report", refresh, 60000);
