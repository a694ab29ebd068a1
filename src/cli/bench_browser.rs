//! The browser board `papan bench display --against-chromium` measures papan against: the same
//! board (hall, layout, calls) as one HTML page in Chromium's kiosk mode, and the memory and CPU
//! of a whole process tree (Chromium runs as many processes).

use std::fmt::Write as _;
use std::path::Path;

use crate::board::Board;
use crate::hall::Hall;
use crate::layout::{Layout, WidgetKind};

/// Memory of a process and all its descendants.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TreeMemory {
    pub processes: usize,
    /// Sum of VmRSS: shared pages counted once per process.
    pub rss_kib: u64,
    /// Sum of Pss: shared pages split between the processes sharing them.
    pub pss_kib: u64,
}

/// `root` and every process below it, from /proc.
fn tree(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // The parent is the second field after the command name (which may hold spaces).
        let parent =
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if let Some(parent) = parent {
            parents.push((pid, parent));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let here = found[i];
        found.extend(parents.iter().filter(|(_, parent)| *parent == here).map(|(pid, _)| *pid));
        i += 1;
    }
    found
}

pub(super) fn tree_memory(root: u32) -> TreeMemory {
    let mut memory = TreeMemory::default();
    for pid in tree(root) {
        let rss = super::bench_display::status_kib(pid, "VmRSS:").unwrap_or(0);
        let pss = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("Pss:"))?.to_string();
                line.split_whitespace().nth(1)?.parse::<u64>().ok()
            })
            .unwrap_or(0);
        memory.processes += 1;
        memory.rss_kib += rss;
        memory.pss_kib += pss;
    }
    memory
}

/// utime + stime of `root` and its descendants alive now, in clock ticks.
pub(super) fn tree_cpu_ticks(root: u32) -> u64 {
    tree(root).into_iter().filter_map(|pid| super::bench_display::cpu_ticks(pid).ok()).sum()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The board as a static HTML page: the layout's regions at the same places, the same texts and
/// colours, papan's fonts, and the same clock line (hours and minutes in the hall's time zone),
/// changed when its minute turns, as papan's idle board does.
pub(super) fn board_html(hall: &Hall, layout: &Layout, board: &Board, fonts: &Path) -> String {
    let agency = |id: &str| hall.agencies.iter().find(|a| a.id == id);
    let mut body = String::new();
    for region in &layout.regions {
        let [x, y, w, h] = region.at.map(|f| f * 100.0);
        let _ = write!(body, r#"<div class="region" style="left:{x}%;top:{y}%;width:{w}%;height:{h}%">"#);
        match region.widget {
            WidgetKind::Header => {
                let _ = write!(body, r#"<div class="header">{}</div>"#, escape(&hall.name));
            }
            WidgetKind::Clock => body.push_str(r#"<div class="header clock" id="clock"></div>"#),
            WidgetKind::NowCalling => {
                if let Some(call) = board.recent.front() {
                    let a = agency(&call.agency);
                    let _ = write!(
                        body,
                        r#"<div class="hero" style="background:{}"><div class="label">NOMOR ANTREAN</div><div class="ticket">{}</div><div class="counter">LOKET {}</div><div class="agency">{}</div></div>"#,
                        a.map_or("#1565C0", |a| a.colour.as_str()),
                        call.ticket,
                        call.counter,
                        escape(a.map_or("", |a| a.name.as_str()))
                    );
                }
            }
            WidgetKind::History => {
                body.push_str(r#"<div class="history"><div class="title">Panggilan Terakhir</div><table>"#);
                for call in board.recent.iter().take(usize::from(region.rows.unwrap_or(5))) {
                    let _ = write!(
                        body,
                        "<tr><td><b>{}</b></td><td>Loket {}</td><td class=dim>{}</td></tr>",
                        call.ticket,
                        call.counter,
                        escape(agency(&call.agency).map_or("", |a| a.short.as_str()))
                    );
                }
                body.push_str("</table></div>");
            }
            WidgetKind::AgencyPanels => {
                let columns = region.columns.unwrap_or(7);
                let _ = write!(
                    body,
                    r#"<div class="panels" style="grid-template-columns:repeat({columns},1fr)">"#
                );
                for a in &hall.agencies {
                    let last = board.agencies.get(&a.id);
                    let (style, latest) = match last {
                        Some(call) => (
                            format!("background:{}", a.colour),
                            format!("<b>{}</b> Loket {}", call.ticket, call.counter),
                        ),
                        None => (String::new(), "—".to_string()),
                    };
                    let _ = write!(
                        body,
                        r#"<div class="panel" style="{style}"><div class="name">{}</div><div class="latest">{latest}</div></div>"#,
                        escape(&a.short)
                    );
                }
                body.push_str("</div>");
            }
            WidgetKind::Ticker => {
                let text = board.ticker.as_deref().unwrap_or("");
                let _ = write!(body, r#"<div class="ticker">{}</div>"#, escape(text));
            }
            _ => {}
        }
        body.push_str("</div>");
    }
    let fonts = fonts.display();
    format!(
        r#"<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>{title}</title>
<style>
@font-face {{ font-family: Noto; src: url("file://{fonts}/NotoSans-Regular.ttf"); }}
@font-face {{ font-family: Noto; font-weight: bold; src: url("file://{fonts}/NotoSans-Bold.ttf"); }}
html, body {{ margin: 0; width: 100vw; height: 100vh; overflow: hidden; background: {background};
  color: #fff; font-family: Noto, sans-serif; cursor: none; }}
.region {{ position: absolute; box-sizing: border-box; padding: 0.5vh 0.4vw; }}
.header {{ height: 100%; background: rgb(8, 23, 51); display: flex; align-items: center;
  justify-content: center; font-weight: bold; font-size: 3.4vh; }}
.clock {{ font-weight: normal; color: rgb(191, 204, 224); font-size: 2.8vh; }}
.hero {{ height: 100%; display: flex; flex-direction: column; align-items: center;
  justify-content: space-evenly; text-align: center; }}
.hero .label {{ font-weight: bold; font-size: 2.6vh; }}
.hero .ticket {{ font-weight: bold; font-size: 10vh; line-height: 1; }}
.hero .counter {{ font-weight: bold; font-size: 5vh; }}
.hero .agency {{ font-size: 3vh; }}
.history .title {{ text-align: center; font-weight: bold; font-size: 3.4vh; color: rgb(191, 204, 224); }}
.history table {{ width: 100%; font-size: 3.4vh; text-align: center; }}
.dim {{ color: rgb(191, 204, 224); }}
.panels {{ display: grid; gap: 1vh 0.8vw; height: 100%; }}
.panel {{ background: rgb(36, 51, 77); display: flex; flex-direction: column; justify-content: space-evenly;
  align-items: center; font-size: 2.2vh; }}
.panel .name {{ font-weight: bold; text-align: center; }}
.panel .latest {{ font-size: 3vh; }}
.ticker {{ height: 100%; display: flex; align-items: center; justify-content: center; font-size: 3.2vh; }}
</style></head>
<body>{body}
<script>
const days = ["Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"];
const months = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
  "September", "Oktober", "November", "Desember"];
function tick() {{
  const d = new Date(Date.now() + {offset_s} * 1000), two = n => String(n).padStart(2, "0");
  document.getElementById("clock").textContent = days[d.getUTCDay()] + ", " + d.getUTCDate() + " " +
    months[d.getUTCMonth()] + " " + d.getUTCFullYear() + " · " + two(d.getUTCHours()) + "." +
    two(d.getUTCMinutes()) + " {zone}";
  setTimeout(tick, 60000 - Date.now() % 60000 + 20);
}}
tick();
</script></body></html>
"#,
        title = escape(&layout.name),
        background = layout.background,
        offset_s = hall.timezone.offset().seconds(),
        zone = hall.timezone.label(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::CallRecord;

    #[test]
    fn the_html_board_shows_what_the_screen_shows() {
        let hall = Hall::builtin();
        let layout = Layout::builtin("hall-landscape").unwrap();
        let disdukcapil = hall.resolve_counter(2, None).unwrap().clone();
        let mut board = Board { ticker: Some("Selamat datang <semua>".into()), ..Board::default() };
        let call = CallRecord {
            seq: 7,
            at: jiff::Timestamp::now(),
            ticket: "A-123".parse().unwrap(),
            counter: 2,
            agency: disdukcapil.id.clone(),
            service: None,
            recalls: 0,
        };
        board.recent.push_front(call.clone());
        board.agencies.insert(call.agency.clone(), call);
        let html = board_html(&hall, &layout, &board, Path::new("/fonts"));
        for agency in &hall.agencies {
            assert!(html.contains(&escape(&agency.short)), "{} missing", agency.short);
        }
        assert!(html.contains(r#"<div class="ticket">A-123</div><div class="counter">LOKET 2</div>"#));
        assert!(html.contains(&format!("background:{}", disdukcapil.colour)));
        assert!(html.contains(&disdukcapil.name));
        assert!(html.contains("Selamat datang &lt;semua&gt;"), "text is escaped");
        assert_eq!(html.matches(r#"class="region""#).count(), layout.regions.len());
        // The clock as papan shows it: the hall's zone (WIB, UTC+7), hours and minutes.
        assert!(html.contains("Date.now() + 25200 * 1000") && html.contains(r#" WIB";"#), "{html}");
        assert!(!html.contains("getSeconds") && !html.contains("setInterval"), "{html}");
    }

    #[test]
    fn a_process_tree_holds_the_children() {
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let me = std::process::id();
        assert!(tree(me).contains(&child.id()));
        let memory = tree_memory(child.id());
        assert_eq!(memory.processes, 1);
        assert!(memory.rss_kib > 0 && memory.pss_kib > 0 && memory.pss_kib <= memory.rss_kib);
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
