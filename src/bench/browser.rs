//! The browser board `papan bench display --against-chromium` measures papan against: the same
//! board (hall, layout, calls) as one live HTML page in Chromium's kiosk mode, fed by the hub like a
//! screen, and the memory and CPU of a whole process tree (Chromium runs as many processes).

use std::fmt::Write as _;
use std::path::Path;

use crate::hall::Hall;
use crate::layout::{Layout, WidgetKind};
use crate::process_stats::{Process, cpu_ticks, pss_kib, status_kib, tree};
use crate::protocol::Seq;

/// Memory of a process and all its descendants.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TreeMemory {
    pub processes: usize,
    /// Sum of VmRSS: shared pages counted once per process.
    pub rss_kib: u64,
    /// Sum of Pss: shared pages split between the processes sharing them.
    pub pss_kib: u64,
}

pub(super) fn tree_memory(root: u32) -> TreeMemory {
    let mut memory = TreeMemory::default();
    for pid in tree(root) {
        let rss = status_kib(Process::Pid(pid), "VmRSS:").unwrap_or(0);
        let pss = pss_kib(Process::Pid(pid)).unwrap_or(0);
        memory.processes += 1;
        memory.rss_kib += rss;
        memory.pss_kib += pss;
    }
    memory
}

/// utime + stime of `root` and its descendants alive now, in clock ticks.
pub(super) fn tree_cpu_ticks(root: u32) -> u64 {
    tree(root).into_iter().filter_map(|pid| cpu_ticks(Process::Pid(pid)).ok()).sum()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Where the browser board finds the hub, as a display: its WebSocket address and a display token.
pub(super) struct BoardHub<'a> {
    pub url: &'a str,
    pub token: &'a str,
}

/// The board as a live HTML page: the layout's regions at the same places, papan's colours and
/// fonts, and a script (`assets/bench/browser-board.js`) that connects to the hub as a display and
/// draws the calls, the ticker and the clock line (hours and minutes in the hall's time zone,
/// changed when its minute turns) as papan's screen does.
pub(super) fn board_html(hall: &Hall, layout: &Layout, hub: &BoardHub, fonts: &Path) -> String {
    let mut body = String::new();
    for region in &layout.regions {
        let [x, y, w, h] = region.at.map(|f| f * 100.0);
        let _ = write!(body, r#"<div class="region" style="left:{x}%;top:{y}%;width:{w}%;height:{h}%">"#);
        match region.widget {
            WidgetKind::Header => {
                let _ = write!(body, r#"<div class="header">{}</div>"#, escape(&hall.name));
            }
            WidgetKind::Clock => body.push_str(r#"<div class="header clock js-clock"></div>"#),
            WidgetKind::NowCalling => body.push_str(r#"<div class="now js-now"></div>"#),
            WidgetKind::History => {
                let _ = write!(
                    body,
                    r#"<div class="history"><div class="title">Panggilan Terakhir</div><table class="js-history" data-rows="{}"></table></div>"#,
                    region.rows.unwrap_or(5)
                );
            }
            WidgetKind::AgencyPanels => {
                let columns = region.columns.unwrap_or(7);
                let _ = write!(
                    body,
                    r#"<div class="panels" style="grid-template-columns:repeat({columns},1fr)">"#
                );
                for a in &hall.agencies {
                    let _ = write!(
                        body,
                        r#"<div class="panel js-panel" data-agency="{}"><div class="name">{}</div><div class="latest">—</div></div>"#,
                        escape(&a.id),
                        escape(&a.short)
                    );
                }
                body.push_str("</div>");
            }
            WidgetKind::Ticker => body.push_str(r#"<div class="ticker js-ticker"></div>"#),
            _ => {}
        }
        body.push_str("</div>");
    }
    let agencies: serde_json::Map<String, serde_json::Value> = hall
        .agencies
        .iter()
        .map(|a| (a.id.clone(), serde_json::json!({"name": a.name, "short": a.short, "colour": a.colour})))
        .collect();
    let config = serde_json::json!({
        "hub": hub.url,
        "token": hub.token,
        "agencies": agencies,
        "offsetSeconds": hall.timezone.offset().seconds(),
        "zone": hall.timezone.label(),
    });
    // Inside <script>, "</" could end the element early: JSON allows "<\/" for it.
    let config = config.to_string().replace("</", r"<\/");
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
.now {{ height: 100%; }}
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
<script>const PAPAN_BOARD = {config};</script>
<script>
{common}</script>
<script>
{script}</script></body></html>
"#,
        title = escape(&layout.name),
        background = layout.background,
        common = COMMON_SCRIPT,
        script = BOARD_SCRIPT,
    )
}

/// The browser board's script: a display client of the hub in JavaScript.
const BOARD_SCRIPT: &str = include_str!("../../assets/bench/browser-board.js");
/// The staff console's shared script, for the board reducer's call record.
const COMMON_SCRIPT: &str = include_str!("../../assets/console/common.js");

/// One frame the browser board logged as drawn (`papan-board-frame seq S unix_us T` in a console
/// line of Chromium's log): the seq its board held and when that frame was done.
pub(super) fn board_frames(log: &str) -> Vec<(Seq, i64)> {
    const MARK: &str = "papan-board-frame seq ";
    log.lines()
        .filter_map(|line| {
            let rest = &line[line.find(MARK)? + MARK.len()..];
            let mut words = rest.split([' ', '"']);
            let seq = words.next()?.parse().ok()?;
            (words.next()? == "unix_us").then_some(())?;
            Some((seq, words.next()?.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_board_has_the_screen_s_regions_and_finds_the_hub() {
        let mut hall = Hall::builtin();
        hall.agencies[0].name = "Dinas </script><b>".into();
        let layout = Layout::builtin("hall-landscape").unwrap();
        let hub = BoardHub { url: "ws://127.0.0.1:7878/ws", token: "display-token" };
        let html = board_html(&hall, &layout, &hub, Path::new("/fonts"));
        for agency in &hall.agencies {
            let panel =
                format!(r#"data-agency="{}"><div class="name">{}</div>"#, agency.id, escape(&agency.short));
            assert!(html.contains(&panel), "{} missing", agency.short);
        }
        assert_eq!(html.matches(r#"class="region""#).count(), layout.regions.len());
        for widget in ["js-now", "js-history", "js-clock", "js-ticker"] {
            assert!(html.contains(widget), "{widget} missing");
        }
        let config = html.split("const PAPAN_BOARD = ").nth(1).unwrap().split(";</script>").next().unwrap();
        assert!(!config.contains("</"), "a name cannot end the script early: {config}");
        let config: serde_json::Value = serde_json::from_str(config).unwrap();
        assert_eq!(config["hub"], "ws://127.0.0.1:7878/ws");
        assert_eq!(config["token"], "display-token");
        assert_eq!(config["agencies"][&hall.agencies[0].id]["name"], "Dinas </script><b>");
        // The clock as papan shows it: the hall's zone (WIB, UTC+7), hours and minutes.
        assert_eq!((config["offsetSeconds"].as_i64(), config["zone"].as_str()), (Some(25200), Some("WIB")));
        assert!(html.contains(BOARD_SCRIPT));
        assert!(!BOARD_SCRIPT.contains("getSeconds") && !BOARD_SCRIPT.contains("setInterval"));
    }

    #[test]
    fn the_browser_board_s_frames_are_read_from_chromium_s_log() {
        let log = r#"[4715:4715:1202/172138.874137:INFO:CONSOLE:4] "papan-board-frame seq 3 unix_us 1796232098873000", source: file:///tmp/board.html (4)
[4715:4733:1202/172139.000000:ERROR:bus.cc(407)] Failed to connect to the bus
[4715:4715:1202/172140.1:INFO:CONSOLE:4] "papan-board-frame seq 12 unix_us 1796232100001234", source: file:///tmp/board.html (4)
[1:1:0/0:INFO:CONSOLE:4] "papan-board-frame seq x unix_us 5", source: file:///tmp/board.html (4)"#;
        assert_eq!(board_frames(log), vec![(3, 1796232098873000), (12, 1796232100001234)]);
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
