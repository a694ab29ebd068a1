//! Screen layouts: regions (fractions of the screen) holding widgets. Parsing and validation with
//! file:line:column, and the text boxes each widget puts on a screen of a given size, which the
//! screens and `papan layout check` share so the check sees what citizens will see.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fit::Fitter;
use crate::hall::{Agency, Hall};
use crate::source_error::{PathStep, SourceErrors, error_at, parse_toml};

/// The layouts screens can ask for by name.
pub type Layouts = std::collections::BTreeMap<String, Layout>;

/// Built-in layouts, served unless a layouts folder replaces them.
pub fn builtin_layouts() -> Layouts {
    BUILTIN.iter().filter_map(|(name, _)| Some((name.to_string(), Layout::builtin(name)?))).collect()
}

/// The layouts shipped in `assets/layouts`, built in.
pub const BUILTIN: [(&str, &str); 3] = [
    ("hall-landscape", include_str!("../assets/layouts/hall-landscape.toml")),
    ("counter-portrait", include_str!("../assets/layouts/counter-portrait.toml")),
    ("agency-wall", include_str!("../assets/layouts/agency-wall.toml")),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    pub name: String,
    #[serde(default)]
    pub orientation: Orientation,
    /// Screen background, `#RRGGBB`.
    #[serde(default = "default_background")]
    pub background: String,
    #[serde(rename = "region")]
    pub regions: Vec<Region>,
}

fn default_background() -> String {
    "#0B1F3A".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Orientation {
    #[default]
    Landscape,
    Portrait,
}

/// A rectangle of the screen and what it shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// x, y, width, height as fractions of the screen (0–1), from the top left.
    pub at: [f32; 4],
    pub widget: WidgetKind,
    /// `history`: how many calls are listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u8>,
    /// `agency_panels`: panels per row (default: what suits the region's shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<u8>,
    /// `now_calling`, `history`, `agency_panels`: only these agencies (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agencies: Option<Vec<String>>,
    /// `image`: file under assets/.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WidgetKind {
    NowCalling,
    History,
    AgencyPanels,
    Ticker,
    Clock,
    Header,
    Image,
    /// Agencies with tickets waiting: how many, and the band a ticket taken now is shown.
    Queue,
    /// Tickets called that did not come ("Terlewat"), while they can still be called again.
    Missed,
    /// The phone page's address (the hall's `public_url`) as a QR code, with a caption.
    Qr,
    /// The region's agencies' service standards (persyaratan, jangka waktu, biaya), a page per
    /// service, turned every [`SERVICE_PAGE_SECONDS`].
    Services,
}

impl WidgetKind {
    pub fn name(self) -> &'static str {
        match self {
            WidgetKind::NowCalling => "now_calling",
            WidgetKind::History => "history",
            WidgetKind::AgencyPanels => "agency_panels",
            WidgetKind::Ticker => "ticker",
            WidgetKind::Clock => "clock",
            WidgetKind::Header => "header",
            WidgetKind::Image => "image",
            WidgetKind::Queue => "queue",
            WidgetKind::Missed => "missed",
            WidgetKind::Qr => "qr",
            WidgetKind::Services => "services",
        }
    }
}

pub const DEFAULT_HISTORY_ROWS: u8 = 6;

impl Layout {
    pub fn builtin(name: &str) -> Option<Layout> {
        let (_, src) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        Some(
            Layout::parse(&format!("assets/layouts/{name}.toml"), src, None)
                .expect("built-in layouts are valid"),
        )
    }

    pub fn load(path: &Path, hall: Option<&Hall>) -> Result<Layout, SourceErrors> {
        let label = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| SourceErrors::unreadable(&label, &e))?;
        Layout::parse(&label, &src, hall)
    }

    /// Parses and validates; with a hall, agency ids are checked too.
    pub fn parse(file: &str, src: &str, hall: Option<&Hall>) -> Result<Layout, SourceErrors> {
        let layout: Layout = parse_toml(file, src).map_err(|e| SourceErrors(vec![e]))?;
        let problems = layout.problems(hall);
        if problems.is_empty() {
            return Ok(layout);
        }
        Err(SourceErrors(
            problems
                .into_iter()
                .map(|(index, field, message)| {
                    let path = [PathStep::Key("region"), PathStep::Index(index), PathStep::Key(field)];
                    error_at(file, src, &path, message)
                })
                .collect(),
        ))
    }

    /// (region index, field, message) for every problem.
    fn problems(&self, hall: Option<&Hall>) -> Vec<(usize, &'static str, String)> {
        let mut problems = Vec::new();
        for (i, region) in self.regions.iter().enumerate() {
            let n = i + 1;
            let widget = region.widget.name();
            let [x, y, w, h] = region.at;
            if region.at.iter().any(|v| !(0.0..=1.0).contains(v)) || w < 0.01 || h < 0.01 {
                problems.push((i, "at", format!("region {n}: at = [x, y, width, height] are fractions from 0 to 1, width and height at least 0.01")));
            } else if x + w > 1.0001 || y + h > 1.0001 {
                problems.push((
                    i,
                    "at",
                    format!(
                        "region {n}: reaches past the screen edge (x + width = {:.3}, y + height = {:.3})",
                        x + w,
                        y + h
                    ),
                ));
            }
            let allowed = |field: &str| match field {
                "rows" => {
                    matches!(region.widget, WidgetKind::History | WidgetKind::Queue | WidgetKind::Missed)
                }
                "columns" => region.widget == WidgetKind::AgencyPanels,
                "agencies" => {
                    matches!(
                        region.widget,
                        WidgetKind::NowCalling
                            | WidgetKind::History
                            | WidgetKind::AgencyPanels
                            | WidgetKind::Queue
                            | WidgetKind::Missed
                            | WidgetKind::Services
                    )
                }
                _ => region.widget == WidgetKind::Image,
            };
            let present = [
                ("rows", region.rows.is_some()),
                ("columns", region.columns.is_some()),
                ("agencies", region.agencies.is_some()),
                ("image", region.image.is_some()),
            ];
            for (field, is_set) in present {
                if is_set && !allowed(field) {
                    problems.push((i, field, format!("region {n}: {field} does not apply to {widget}")));
                }
            }
            if region.rows.is_some_and(|r| !(1..=20).contains(&r)) {
                problems.push((i, "rows", format!("region {n}: rows must be 1 to 20")));
            }
            if region.columns.is_some_and(|c| !(1..=12).contains(&c)) {
                problems.push((i, "columns", format!("region {n}: columns must be 1 to 12")));
            }
            if region.widget == WidgetKind::Image && region.image.as_deref().is_none_or(str::is_empty) {
                problems.push((i, "widget", format!("region {n}: an image region needs image = \"file\"")));
            }
            if let (Some(hall), Some(ids)) = (hall, &region.agencies) {
                let unknown: Vec<&str> =
                    ids.iter().filter(|id| hall.agency(id).is_none()).map(String::as_str).collect();
                if !unknown.is_empty() {
                    problems.push((
                        i,
                        "agencies",
                        format!("region {n}: unknown agencies {}", unknown.join(", ")),
                    ));
                }
            }
            // Images may sit behind other widgets; everything else must not overlap.
            if region.widget != WidgetKind::Image
                && let Some(j) = self.regions[..i].iter().position(|other| {
                    other.widget != WidgetKind::Image && overlap(other.at, region.at) > 1e-4
                })
            {
                problems.push((
                    i,
                    "at",
                    format!(
                        "region {n} ({widget}) overlaps region {} ({})",
                        j + 1,
                        self.regions[j].widget.name()
                    ),
                ));
            }
        }
        if self.regions.is_empty() {
            problems.push((0, "at", "a layout needs at least one [[region]]".into()));
        }
        problems
    }
}

/// Overlapping area of two [x, y, w, h] rectangles.
fn overlap(a: [f32; 4], b: [f32; 4]) -> f32 {
    let w = (a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0]);
    let h = (a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1]);
    w.max(0.0) * h.max(0.0)
}

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// How important a text is, for the readable minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emphasis {
    /// The called ticket and counter in the hero: read from across the hall.
    Key,
    /// Names, header, clock, ticker.
    Text,
}

impl Emphasis {
    /// Smallest size in pixels still readable in a hall, for a screen whose short side is `short`:
    /// 2.2 % of it for text (24 px at 1080p), 4.5 % for tickets and counters (48 px).
    pub fn min_readable(self, short: f32) -> f32 {
        match self {
            Emphasis::Key => short * 0.045,
            Emphasis::Text => short * 0.022,
        }
    }
}

/// One text a widget shows, in its box.
#[derive(Debug, Clone, PartialEq)]
pub struct TextSlot {
    pub region: usize,
    pub widget: WidgetKind,
    pub what: &'static str,
    pub text: String,
    pub rect: Rect,
    pub max_lines: usize,
    pub emphasis: Emphasis,
    pub bold: bool,
}

/// The agencies a region shows.
pub fn region_agencies<'h>(region: &Region, hall: &'h Hall) -> Vec<&'h Agency> {
    match &region.agencies {
        Some(ids) => ids.iter().filter_map(|id| hall.agency(id)).collect(),
        None => hall.agencies.iter().collect(),
    }
}

/// Grid of agency panels: (columns, rows) for `n` panels in a `w` × `h` region.
pub fn panel_grid(n: usize, columns: Option<u8>, w: f32, h: f32) -> (usize, usize) {
    let n = n.max(1);
    let columns = match columns {
        Some(c) => usize::from(c),
        // Near-square cells, slightly wide (names are wide).
        None => ((n as f32 * w / h / 1.6).sqrt().round() as usize).clamp(1, n),
    };
    (columns, n.div_ceil(columns))
}

impl Rect {
    /// A part of this rectangle, in fractions of it.
    pub fn part(&self, fx: f32, fy: f32, fw: f32, fh: f32) -> Rect {
        Rect { x: self.x + fx * self.w, y: self.y + fy * self.h, w: fw * self.w, h: fh * self.h }
    }
}

/// A region's rectangle on a `width` × `height` screen.
pub fn region_rect(region: &Region, width: f32, height: f32) -> Rect {
    let [x, y, w, h] = region.at;
    Rect { x: x * width, y: y * height, w: w * width, h: h * height }
}

/// The one line of header, clock and ticker regions.
pub fn line_box(area: Rect) -> Rect {
    area.part(0.02, 0.15, 0.96, 0.7)
}

/// The hero: label, ticket, counter, agency name.
pub struct HeroBoxes {
    pub label: Rect,
    pub ticket: Rect,
    pub counter: Rect,
    pub agency: Rect,
}

pub fn hero_boxes(area: Rect) -> HeroBoxes {
    HeroBoxes {
        label: area.part(0.05, 0.04, 0.9, 0.1),
        ticket: area.part(0.05, 0.15, 0.9, 0.4),
        counter: area.part(0.05, 0.57, 0.9, 0.2),
        agency: area.part(0.05, 0.79, 0.9, 0.18),
    }
}

/// One history row: ticket, counter, agency.
pub struct RowBoxes {
    pub ticket: Rect,
    pub counter: Rect,
    pub agency: Rect,
}

/// The history title and `rows` rows below it.
pub fn history_boxes(area: Rect, rows: u8) -> (Rect, Vec<RowBoxes>) {
    let (title, tops, h) = titled_rows(area, rows);
    let rows = tops
        .into_iter()
        .map(|y| RowBoxes {
            ticket: area.part(0.03, y, 0.3, h),
            counter: area.part(0.35, y, 0.22, h),
            agency: area.part(0.59, y, 0.38, h),
        })
        .collect();
    (title, rows)
}

/// A list widget's title line, the top of each of its `rows` rows below it and the height of a
/// row's text, as fractions of `area`.
fn titled_rows(area: Rect, rows: u8) -> (Rect, Vec<f32>, f32) {
    let row = 1.0 / (f32::from(rows) + 1.0);
    let title = area.part(0.03, 0.0, 0.94, row * 0.8);
    (title, (1..=rows).map(|r| row * f32::from(r)).collect(), row * 0.8)
}

/// One queue row: agency, waiting count, band.
pub struct QueueRowBoxes {
    pub agency: Rect,
    pub waiting: Rect,
    pub band: Rect,
}

/// The queue title and `rows` rows below it.
pub fn queue_boxes(area: Rect, rows: u8) -> (Rect, Vec<QueueRowBoxes>) {
    let (title, tops, h) = titled_rows(area, rows);
    let rows = tops
        .into_iter()
        .map(|y| QueueRowBoxes {
            agency: area.part(0.03, y, 0.37, h),
            waiting: area.part(0.42, y, 0.28, h),
            band: area.part(0.72, y, 0.25, h),
        })
        .collect();
    (title, rows)
}

/// The missed title, then `rows` rows of missed tickets, three to a row.
pub fn missed_boxes(area: Rect, rows: u8) -> (Rect, Vec<Rect>) {
    let (title, tops, h) = titled_rows(area, rows);
    let w = 0.94 / MISSED_PER_ROW as f32;
    let cells = tops
        .into_iter()
        .flat_map(|y| (0..MISSED_PER_ROW).map(move |c| area.part(0.03 + w * c as f32, y, w * 0.95, h)))
        .collect();
    (title, cells)
}

/// The `qr` widget: the code (square, centred) and its caption below. The address in words does
/// not fit readably beside the code in the shipped portrait layout (28 characters in a third of
/// the width shrank to 14–20 px), so the receipt and the phone page carry it instead.
pub struct QrBoxes {
    pub code: Rect,
    pub caption: Rect,
}

pub fn qr_boxes(area: Rect) -> QrBoxes {
    let pad = area.h.min(area.w) * 0.04;
    let caption_h = area.h * 0.14;
    let side = (area.h - caption_h - 2.0 * pad).min(area.w - 2.0 * pad).max(1.0);
    let code = Rect { x: area.x + (area.w - side) / 2.0, y: area.y + pad, w: side, h: side };
    let caption = Rect { x: area.x + pad, y: code.y + side + pad * 0.5, w: area.w - 2.0 * pad, h: caption_h };
    QrBoxes { code, caption }
}

/// How long a page of the `services` widget stays: time to read six lines from a few metres.
pub const SERVICE_PAGE_SECONDS: u64 = 12;
/// Lines of requirements, service time and cost on one page; more go on over the next.
pub const SERVICE_BODY_ROWS: usize = 6;

/// One page of the `services` widget: a service of an agency, or the part of it that did not fit
/// the page before. Made for one region size (lines are wrapped to its width).
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePage<'h> {
    pub agency: &'h Agency,
    pub service: &'h crate::hall::ServiceStandard,
    /// The lines of the page's body, in order.
    pub lines: Vec<BodyLine>,
    /// Whether an earlier page showed the start of this service.
    pub continued: bool,
    /// Where a wrapped line goes on, in pixels right of a first line (past the "• ").
    pub indent: f32,
    /// This page's place in the region's turn, from 1, and how many pages the turn has.
    pub number: usize,
    pub of: usize,
}

/// A line of a services page's body.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyLine {
    pub text: String,
    pub kind: ServiceText,
    /// The first line of its requirement or detail (later ones are indented).
    pub first: bool,
}

/// What a text of a services page is, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceText {
    Title,
    /// "CONTOH": shipped example text, not the hall's official standard.
    Example,
    Name,
    Label,
    Requirement,
    Detail,
    PageNumber,
}

/// A text of a services page in its box.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedServiceText {
    pub what: &'static str,
    pub kind: ServiceText,
    pub text: String,
    pub rect: Rect,
    pub bold: bool,
    /// Lists read best from a common left edge; the badge and page number are centred.
    pub left: bool,
}

/// Room left of a left-aligned text's box for glyphs that reach left of their origin (the J of
/// "Jangka waktu" by 3 px at 30 px): the text is fitted to its box, its node starts this much
/// further left.
pub fn left_overhang(rect: Rect) -> f32 {
    (rect.h * 0.15).ceil()
}

/// The body row `i` of a services page in `area`.
fn service_row(area: Rect, i: usize) -> Rect {
    area.part(0.05, 0.36 + 0.095 * i as f32, 0.92, 0.085)
}

/// The pages the `services` widget of `region` turns through in `area`: its agencies' services
/// in hall order, each requirement, the service time and the cost wrapped at one text size (what
/// the row height allows, as the ticker), a service that does not fit a page going on over the
/// next. `regular` measures as the screen draws.
pub fn service_pages<'h>(
    region: &Region,
    hall: &'h Hall,
    area: Rect,
    regular: &Fitter,
) -> Vec<ServicePage<'h>> {
    let row = service_row(area, 0);
    let size = regular.fit(TICKER_SAMPLE, f32::INFINITY, row.h, 1).size;
    let indent = regular.line_width(BULLET, size);
    let width = (row.w - indent).max(1.0);
    let mut pages = Vec::new();
    for agency in region_agencies(region, hall) {
        for service in &agency.services {
            // Each requirement, then the service time and the cost, as blocks of wrapped lines.
            let mut blocks: Vec<Vec<BodyLine>> = Vec::new();
            let mut block = |kind, text: &str, bullet: &str| {
                let lines = regular.pages(text, size, width).into_iter().enumerate();
                let lines = lines.map(|(i, line)| BodyLine {
                    text: if i == 0 { format!("{bullet}{line}") } else { line },
                    kind,
                    first: i == 0,
                });
                blocks.push(lines.collect());
            };
            if service.requirements.is_empty() {
                block(ServiceText::Requirement, SERVICES_NO_REQUIREMENTS, "");
            }
            for requirement in &service.requirements {
                block(ServiceText::Requirement, requirement, BULLET);
            }
            for (word, value) in [("Jangka waktu", &service.time), ("Biaya", &service.cost)] {
                if let Some(value) = value {
                    block(ServiceText::Detail, &format!("{word}: {value}"), "");
                }
            }
            // A block stays on one page when it fits one; one longer than a page is split.
            let mut page: Vec<BodyLine> = Vec::new();
            let mut parts = Vec::new();
            for block in blocks {
                if !page.is_empty() && page.len() + block.len() > SERVICE_BODY_ROWS {
                    parts.push(std::mem::take(&mut page));
                }
                for line in block {
                    if page.len() == SERVICE_BODY_ROWS {
                        parts.push(std::mem::take(&mut page));
                    }
                    page.push(line);
                }
            }
            parts.push(page);
            for (i, lines) in parts.into_iter().enumerate() {
                pages.push(ServicePage {
                    agency,
                    service,
                    lines,
                    continued: i > 0,
                    indent,
                    number: 0,
                    of: 0,
                });
            }
        }
    }
    let of = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        (page.number, page.of) = (i + 1, of);
    }
    pages
}

/// Words of the `services` widget.
pub const SERVICES_TITLE: &str = "Standar Pelayanan";
pub const SERVICES_EXAMPLE: &str = "CONTOH";
pub const SERVICES_REQUIREMENTS: &str = "Persyaratan";
pub const SERVICES_CONTINUED: &str = "(lanjutan)";
/// A service whose standard lists no requirement.
pub const SERVICES_NO_REQUIREMENTS: &str = "Tidak ada persyaratan";
/// Before each requirement.
const BULLET: &str = "• ";

impl ServicePage<'_> {
    /// Its texts in their boxes within the widget's `area` (the one it was made for).
    pub fn texts(&self, area: Rect) -> Vec<PlacedServiceText> {
        let mut texts = Vec::new();
        let mut add = |what, kind, text: String, rect: Rect, bold, left| {
            texts.push(PlacedServiceText { what, kind, text, rect, bold, left });
        };
        let title = format!("{SERVICES_TITLE} · {}", self.agency.short);
        if self.service.example {
            add("title", ServiceText::Title, title, area.part(0.03, 0.02, 0.72, 0.1), true, true);
            let badge = area.part(0.78, 0.025, 0.19, 0.09);
            add("example badge", ServiceText::Example, SERVICES_EXAMPLE.into(), badge, true, false);
        } else {
            add("title", ServiceText::Title, title, area.part(0.03, 0.02, 0.94, 0.1), true, true);
        }
        let name = area.part(0.03, 0.13, 0.94, 0.12);
        add("service name", ServiceText::Name, self.service.name.clone(), name, true, true);
        // The requirements' heading over the page's first requirement, or "(lanjutan)" over a
        // page that goes on with them.
        let label = match self.lines.first().map(|l| l.kind) {
            Some(ServiceText::Requirement) if self.continued => {
                format!("{SERVICES_REQUIREMENTS} {SERVICES_CONTINUED}")
            }
            Some(ServiceText::Requirement) => SERVICES_REQUIREMENTS.to_string(),
            _ => SERVICES_CONTINUED.to_string(),
        };
        add("label", ServiceText::Label, label, area.part(0.03, 0.27, 0.7, 0.085), true, true);
        if self.of > 1 {
            let number = format!("{}/{}", self.number, self.of);
            let rect = area.part(0.77, 0.27, 0.2, 0.085);
            add("page", ServiceText::PageNumber, number, rect, false, false);
        }
        for (i, line) in self.lines.iter().enumerate() {
            let row = service_row(area, i);
            let rect =
                if line.first { row } else { Rect { x: row.x + self.indent, w: row.w - self.indent, ..row } };
            let what = if line.kind == ServiceText::Requirement { "requirement" } else { "detail" };
            add(what, line.kind, line.text.clone(), rect, false, true);
        }
        texts
    }
}

/// Missed tickets side by side in a row of the `missed` widget.
pub const MISSED_PER_ROW: usize = 2;
pub const DEFAULT_QUEUE_ROWS: u8 = 6;
pub const DEFAULT_MISSED_ROWS: u8 = 2;

/// A queue row's count: "Menunggu 12".
pub fn waiting_count(waiting: u32) -> String {
    format!("Menunggu {waiting}")
}

/// A missed ticket as the `missed` widget shows it: "A-012 · Loket 3".
pub fn missed_label(ticket: &str, counter: u16) -> String {
    format!("{ticket} · Loket {counter}")
}

/// The cells of `n` agency panels, row by row.
pub fn panel_cells(area: Rect, n: usize, columns: Option<u8>) -> Vec<Rect> {
    let (columns, rows) = panel_grid(n, columns, area.w, area.h);
    let (cw, ch) = (1.0 / columns as f32, 1.0 / rows as f32);
    (0..n).map(|i| area.part((i % columns) as f32 * cw, (i / columns) as f32 * ch, cw, ch)).collect()
}

/// Inside a panel: the agency's name on top, ticket and counter side by side below it, and in a
/// hall that hands out tickets through papan, a line with the agency's queue at the bottom.
pub struct PanelBoxes {
    pub name: Rect,
    pub ticket: Rect,
    pub counter: Rect,
    pub waiting: Option<Rect>,
}

pub fn panel_boxes(cell: Rect, with_queue: bool) -> PanelBoxes {
    if with_queue {
        PanelBoxes {
            name: cell.part(0.04, 0.03, 0.92, 0.32),
            ticket: cell.part(0.04, 0.36, 0.5, 0.3),
            counter: cell.part(0.56, 0.36, 0.41, 0.3),
            waiting: Some(cell.part(0.04, 0.67, 0.92, 0.29)),
        }
    } else {
        PanelBoxes {
            name: cell.part(0.04, 0.03, 0.92, 0.5),
            ticket: cell.part(0.04, 0.56, 0.5, 0.4),
            counter: cell.part(0.56, 0.56, 0.41, 0.4),
            waiting: None,
        }
    }
}

/// A panel's queue line: "Menunggu 12 · 15–25 mnt" (the band a ticket taken now is shown), or
/// "Menunggu 12" while the day knows too little for a band.
pub fn waiting_line(waiting: u32, band: Option<crate::queue::Band>) -> String {
    match (waiting, band) {
        (0, _) => NOBODY_WAITING.to_string(),
        (n, Some(band)) => format!("Menunggu {n} · {}", band.short()),
        (n, None) => format!("Menunggu {n}"),
    }
}

/// The widest queue line a panel shows.
fn widest_waiting_line() -> String {
    waiting_line(999, Some(crate::queue::Band { low: 235, high: 240 }))
}

/// Every character a queue line may show.
const WAITING_GLYPHS: &str = "Menunggu 0123456789 · – ≤ mnt Tidak ada antrean";

/// The widest texts each widget can show for this hall, in their boxes on a `width` × `height`
/// screen: what `layout check` fits, in the same boxes the screens lay text into.
pub fn text_slots(layout: &Layout, hall: &Hall, width: f32, height: f32) -> Vec<TextSlot> {
    let mut slots = Vec::new();
    // Made only for a services widget, which wraps its lines as the screen will.
    let mut regular: Option<Fitter> = None;
    let longest_ticket = longest_ticket(hall);
    let last_counter = hall.agencies.iter().flat_map(|a| a.counters.iter()).max().copied().unwrap_or(1);
    for (i, region) in layout.regions.iter().enumerate() {
        let area = region_rect(region, width, height);
        let mut add = |what, text: String, rect: Rect, max_lines, emphasis, bold| {
            slots.push(TextSlot {
                region: i,
                widget: region.widget,
                what,
                text,
                rect,
                max_lines,
                emphasis,
                bold,
            });
        };
        match region.widget {
            WidgetKind::Header => {
                add("hall name", hall.name.clone(), line_box(area), 1, Emphasis::Text, true)
            }
            WidgetKind::Clock => {
                let longest = crate::clock::longest_clock_line(hall.timezone);
                add("date and time", longest, line_box(area), 1, Emphasis::Text, false);
            }
            // The ticker scrolls (or pages), so only its height limits the size.
            WidgetKind::Ticker => {
                let rect = Rect { w: f32::INFINITY, ..line_box(area) };
                add("ticker", "Selamat datang".into(), rect, 1, Emphasis::Text, false);
            }
            WidgetKind::NowCalling => {
                let hero = hero_boxes(area);
                add("label", HERO_LABEL.into(), hero.label, 1, Emphasis::Text, true);
                add("label", HERO_PRIORITY_LABEL.into(), hero.label, 1, Emphasis::Text, true);
                add("ticket", longest_ticket.clone(), hero.ticket, 1, Emphasis::Key, true);
                add("counter", hero_counter(last_counter), hero.counter, 1, Emphasis::Key, true);
                for agency in region_agencies(region, hall) {
                    add("agency name", agency.name.clone(), hero.agency, 2, Emphasis::Text, false);
                }
            }
            WidgetKind::History => {
                let (title, rows) = history_boxes(area, region.rows.unwrap_or(DEFAULT_HISTORY_ROWS));
                add("title", HISTORY_TITLE.into(), title, 1, Emphasis::Text, true);
                let row = &rows[0];
                add("ticket", longest_ticket.clone(), row.ticket, 1, Emphasis::Text, true);
                add("counter", counter_label(last_counter), row.counter, 1, Emphasis::Text, false);
                for agency in region_agencies(region, hall) {
                    add("agency", agency.short.clone(), row.agency, 1, Emphasis::Text, false);
                    add("agency", priority_agency(&agency.short), row.agency, 1, Emphasis::Text, false);
                }
            }
            WidgetKind::AgencyPanels => {
                let agencies = region_agencies(region, hall);
                // Every cell has the same size, so the first cell's boxes stand for all.
                let cell = panel_cells(area, agencies.len(), region.columns)[0];
                // Panels as they are, and as they are once the hall hands out tickets (a queue
                // line at the bottom).
                for with_queue in [false, true] {
                    let panel = panel_boxes(cell, with_queue);
                    for agency in &agencies {
                        // Panels carry the name citizens know ("Disdukcapil"); the hero shows the full one.
                        add("agency name", agency.short.clone(), panel.name, 2, Emphasis::Text, true);
                    }
                    // Panels are secondary to the hero, so their tickets need only text size.
                    add("ticket", longest_ticket.clone(), panel.ticket, 1, Emphasis::Text, true);
                    add("counter", counter_label(last_counter), panel.counter, 1, Emphasis::Text, false);
                    if let Some(waiting) = panel.waiting {
                        add("queue", widest_waiting_line(), waiting, 1, Emphasis::Text, false);
                    }
                }
            }
            WidgetKind::Queue => {
                let (title, rows) = queue_boxes(area, region.rows.unwrap_or(DEFAULT_QUEUE_ROWS));
                add("title", QUEUE_TITLE.into(), title, 1, Emphasis::Text, true);
                let row = &rows[0];
                for agency in region_agencies(region, hall) {
                    add("agency", agency.short.clone(), row.agency, 1, Emphasis::Text, true);
                }
                add("waiting", waiting_count(999), row.waiting, 1, Emphasis::Text, false);
                add("band", widest_band(), row.band, 1, Emphasis::Text, false);
            }
            WidgetKind::Missed => {
                let (title, cells) = missed_boxes(area, region.rows.unwrap_or(DEFAULT_MISSED_ROWS));
                add("title", MISSED_TITLE.into(), title, 1, Emphasis::Text, true);
                add("ticket", widest_missed(hall), cells[0], 1, Emphasis::Text, true);
            }
            WidgetKind::Qr => {
                add("caption", QR_CAPTION.into(), qr_boxes(area).caption, 1, Emphasis::Text, true)
            }
            // Every page, since each is shown in its turn.
            WidgetKind::Services => {
                for page in service_pages(region, hall, area, regular.get_or_insert_with(Fitter::regular)) {
                    for text in page.texts(area) {
                        add(text.what, text.text, text.rect, 1, Emphasis::Text, text.bold);
                    }
                }
            }
            WidgetKind::Image => {}
        }
    }
    slots
}

/// The widest missed ticket the `missed` widget shows for this hall: every label takes its size.
pub fn widest_missed(hall: &Hall) -> String {
    let last_counter = hall.agencies.iter().flat_map(|a| a.counters.iter()).max().copied().unwrap_or(1);
    missed_label(&longest_ticket(hall), last_counter)
}

/// The widest band a screen shows.
fn widest_band() -> String {
    crate::queue::Band { low: 235, high: 240 }.short()
}

/// A text that changes as the day goes (calls, the clock, the link to the hub), in one of the
/// forms it takes: `sample` is as wide as that form gets, so it fits to the size a screen gives
/// that form; `glyphs` are the characters the form may show.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangingText {
    pub rect: Rect,
    pub max_lines: usize,
    pub bold: bool,
    pub sample: String,
    pub glyphs: String,
}

/// Every form of every changing text a `width` × `height` screen of `layout` can show for this
/// hall. A screen renders their glyphs out of sight as soon as it knows the hall: bevy keeps a
/// glyph atlas per font size for ever, so one first needed mid-day (a hero ticket of a new width,
/// a letter not yet called) is memory that only grows, built while a call waits to be drawn.
pub fn changing_texts(layout: &Layout, hall: &Hall, width: f32, height: f32) -> Vec<ChangingText> {
    let mut texts = Vec::new();
    let mut regular: Option<Fitter> = None;
    let mut add = |rect: Rect, max_lines: usize, bold: bool, sample: String, glyphs: String| {
        texts.push(ChangingText { rect, max_lines, bold, sample, glyphs });
    };
    let same = |text: &str| (text.to_string(), text.to_string());
    let tickets = |agencies: &[&Agency]| -> Vec<(String, String)> {
        let letters: BTreeSet<&str> =
            agencies.iter().flat_map(|a| a.letters.iter().map(String::as_str)).collect();
        // Numbers show at least three digits and at most four; digits are all one width.
        letters
            .into_iter()
            .flat_map(|l| {
                [format!("{l}-999"), format!("{l}-9999")].map(|sample| (sample, format!("{l}-0123456789")))
            })
            .collect()
    };
    let counters = |agencies: &[&Agency], label: fn(u16) -> String| -> Vec<(String, String)> {
        let numbers: BTreeSet<u16> = agencies.iter().flat_map(|a| a.counters.iter().copied()).collect();
        numbers.into_iter().map(|n| same(&label(n))).collect()
    };
    add(connecting_box(width, height), 1, false, CONNECTING.into(), CONNECTING.into());
    add(offline_badge_box(width, height), 1, true, OFFLINE_BADGE.into(), OFFLINE_BADGE.into());
    for region in &layout.regions {
        let area = region_rect(region, width, height);
        let agencies = region_agencies(region, hall);
        match region.widget {
            // The QR code's caption never changes.
            WidgetKind::Header | WidgetKind::Image | WidgetKind::Qr => {}
            WidgetKind::Services => {
                for page in service_pages(region, hall, area, regular.get_or_insert_with(Fitter::regular)) {
                    for text in page.texts(area) {
                        add(text.rect, 1, text.bold, text.text.clone(), text.text);
                    }
                }
            }
            WidgetKind::Queue => {
                let (_, rows) = queue_boxes(area, region.rows.unwrap_or(DEFAULT_QUEUE_ROWS));
                let row = &rows[0];
                for agency in &agencies {
                    add(row.agency, 1, true, agency.short.clone(), agency.short.clone());
                }
                add(row.waiting, 1, false, waiting_count(999), WAITING_GLYPHS.into());
                add(row.band, 1, false, widest_band(), WAITING_GLYPHS.into());
            }
            WidgetKind::Missed => {
                let (_, cells) = missed_boxes(area, region.rows.unwrap_or(DEFAULT_MISSED_ROWS));
                // Every label is drawn at the size of the widest (one atlas).
                let glyphs: String = tickets(&agencies).into_iter().map(|(_, glyphs)| glyphs).collect();
                add(cells[0], 1, true, widest_missed(hall), format!("{glyphs} · Loket 0123456789"));
            }
            WidgetKind::Clock => {
                let (sample, glyphs) = (
                    crate::clock::longest_clock_line(hall.timezone),
                    crate::clock::clock_glyphs(hall.timezone),
                );
                add(line_box(area), 1, false, sample, glyphs);
            }
            WidgetKind::Ticker => {
                // Staff type the ticker: any printable ASCII, with the ligatures the font makes of it.
                let glyphs: String = (' '..='~').chain(" fi fl ff".chars()).collect();
                add(Rect { w: f32::INFINITY, ..line_box(area) }, 1, false, TICKER_SAMPLE.into(), glyphs);
            }
            WidgetKind::NowCalling => {
                let hero = hero_boxes(area);
                for label in [HERO_LABEL, HERO_PRIORITY_LABEL] {
                    add(hero.label, 1, true, label.into(), label.into());
                }
                for (sample, glyphs) in tickets(&agencies).into_iter().chain([same(NO_TICKET)]) {
                    add(hero.ticket, 1, true, sample, glyphs);
                }
                for (sample, glyphs) in counters(&agencies, hero_counter) {
                    add(hero.counter, 1, true, sample, glyphs);
                }
                for agency in &agencies {
                    add(hero.agency, 2, false, agency.name.clone(), agency.name.clone());
                }
            }
            WidgetKind::History => {
                let (_, rows) = history_boxes(area, region.rows.unwrap_or(DEFAULT_HISTORY_ROWS));
                let row = &rows[0];
                for (sample, glyphs) in tickets(&agencies) {
                    add(row.ticket, 1, true, sample, glyphs);
                }
                for (sample, glyphs) in counters(&agencies, counter_label) {
                    add(row.counter, 1, false, sample, glyphs);
                }
                for agency in &agencies {
                    add(row.agency, 1, false, agency.short.clone(), agency.short.clone());
                    let priority = priority_agency(&agency.short);
                    add(row.agency, 1, false, priority.clone(), priority);
                }
            }
            WidgetKind::AgencyPanels => {
                // Every cell has the same size, so the first cell's boxes stand for all.
                let cell = panel_cells(area, agencies.len(), region.columns)[0];
                for with_queue in [false, true] {
                    let panel = panel_boxes(cell, with_queue);
                    for (sample, glyphs) in tickets(&agencies).into_iter().chain([same(NO_TICKET)]) {
                        add(panel.ticket, 1, true, sample, glyphs);
                    }
                    for (sample, glyphs) in counters(&agencies, counter_label) {
                        add(panel.counter, 1, false, sample, glyphs);
                    }
                    if let Some(waiting) = panel.waiting {
                        add(waiting, 1, false, widest_waiting_line(), WAITING_GLYPHS.into());
                    }
                }
            }
        }
    }
    texts
}

/// Words citizens read on the screens.
pub const HERO_LABEL: &str = "NOMOR ANTREAN";
/// The hero's label when the ticket called is a priority ticket (lansia, disabilitas, ibu hamil).
pub const HERO_PRIORITY_LABEL: &str = "ANTREAN PRIORITAS";

/// A history row's agency for a priority ticket: "Disdukcapil · PRIORITAS".
pub fn priority_agency(short: &str) -> String {
    format!("{short} · PRIORITAS")
}
/// A panel's queue line when nobody waits.
pub const NOBODY_WAITING: &str = "Tidak ada antrean";
pub const HISTORY_TITLE: &str = "Panggilan Terakhir";
pub const QUEUE_TITLE: &str = "Antrean dan Perkiraan Waktu Tunggu";
pub const MISSED_TITLE: &str = "Terlewat — silakan lapor ke loket";
/// Under the `qr` widget's code.
pub const QR_CAPTION: &str = "Pantau antrean Anda";
/// A ticket box whose agency has no call today.
pub const NO_TICKET: &str = "—";
/// Shown until the screen first has a board.
pub const CONNECTING: &str = "Menghubungkan ke hub…";
/// The badge while the hub is out of reach.
pub const OFFLINE_BADGE: &str = "Tidak terhubung";
/// The ticker is one line at the size its height allows, whatever it says: this sizes it.
pub const TICKER_SAMPLE: &str = "Ag";

/// The hero's counter line, in capitals like the ticket above it: `LOKET 5`.
pub fn hero_counter(counter: u16) -> String {
    format!("LOKET {counter}")
}

/// A history row's or an agency panel's counter: `Loket 5`.
pub fn counter_label(counter: u16) -> String {
    format!("Loket {counter}")
}

/// Where [`CONNECTING`] shows on a `width` × `height` screen.
pub fn connecting_box(width: f32, height: f32) -> Rect {
    Rect { x: 0.0, y: 0.0, w: width, h: height }.part(0.1, 0.4, 0.8, 0.2)
}

/// Where [`OFFLINE_BADGE`] shows: top right, over the board.
pub fn offline_badge_box(width: f32, height: f32) -> Rect {
    Rect { x: width * 0.8, y: height * 0.005, w: width * 0.19, h: height * 0.04 }
}

/// The widest ticket this hall can hand out, e.g. `AP-9999` → shown as `AP-9999`.
fn longest_ticket(hall: &Hall) -> String {
    let letters = hall
        .agencies
        .iter()
        .flat_map(|a| a.letters.iter())
        .max_by_key(|l| l.len())
        .map_or("A", String::as_str);
    format!("{letters}-8888")
}

/// Agency ids of all regions, for reporting.
pub fn mentioned_agencies(layout: &Layout) -> BTreeSet<&str> {
    layout.regions.iter().filter_map(|r| r.agencies.as_ref()).flatten().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_layouts_are_valid_for_the_builtin_hall() {
        let hall = Hall::builtin();
        for (name, src) in BUILTIN {
            let layout = Layout::parse(name, src, Some(&hall)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(layout.name, name);
            assert!(!text_slots(&layout, &hall, 1920.0, 1080.0).is_empty());
        }
        assert_eq!(Layout::builtin("counter-portrait").unwrap().orientation, Orientation::Portrait);
    }

    const GOOD: &str = "name = \"t\"\n\n[[region]]\nat = [0.0, 0.0, 0.5, 1.0]\nwidget = \"now_calling\"\n\n[[region]]\nat = [0.5, 0.0, 0.5, 1.0]\nwidget = \"history\"\nrows = 5\n";

    #[test]
    fn broken_files_have_exact_positions() {
        assert!(Layout::parse("l.toml", GOOD, None).is_ok());
        let cases = [
            (GOOD.replace("rows = 5", "rows = 50"), "l.toml:10:8: region 2: rows must be 1 to 20"),
            (
                GOOD.replace("rows = 5", "columns = 3"),
                "l.toml:10:11: region 2: columns does not apply to history",
            ),
            (
                GOOD.replace("[0.5, 0.0, 0.5, 1.0]", "[0.4, 0.0, 0.5, 1.0]"),
                "l.toml:8:6: region 2 (history) overlaps region 1 (now_calling)",
            ),
            (
                GOOD.replace("[0.5, 0.0, 0.5, 1.0]", "[0.6, 0.0, 0.5, 1.0]"),
                "l.toml:8:6: region 2: reaches past the screen edge (x + width = 1.100, y + height = 1.000)",
            ),
            (GOOD.replace("\"history\"", "\"histroy\""), "l.toml:9:10: "),
            (GOOD.replace("rows = 5", "row = 5"), "l.toml:10:1: "),
            (GOOD.replace("[0.5, 0.0, 0.5, 1.0]", "[0.5, 0.0, 0.5]"), "l.toml:8:6: "),
        ];
        for (src, expected) in cases {
            let err = Layout::parse("l.toml", &src, None).unwrap_err().to_string();
            assert!(err.starts_with(expected), "expected {expected:?}, got {err:?}");
        }
        let hall = Hall::builtin();
        let src = GOOD.replace("rows = 5", "agencies = [\"disdukcapil\", \"nasa\"]");
        let err = Layout::parse("l.toml", &src, Some(&hall)).unwrap_err().to_string();
        assert_eq!(err, "l.toml:10:12: region 2: unknown agencies nasa");
    }

    #[test]
    fn panel_grids_suit_the_region() {
        assert_eq!(panel_grid(28, Some(7), 1920.0, 600.0), (7, 4));
        let (c, r) = panel_grid(28, None, 1920.0, 1080.0);
        assert!(c * r >= 28 && c > r, "{c}×{r}");
        let (c, r) = panel_grid(4, None, 1080.0, 1920.0);
        assert!(c * r >= 4 && c <= r, "{c}×{r}");
    }

    fn services_region(agencies: &[&str]) -> Region {
        Region {
            at: [0.0, 0.5, 1.0, 0.25],
            widget: WidgetKind::Services,
            rows: None,
            columns: None,
            agencies: Some(agencies.iter().map(|a| a.to_string()).collect()),
            image: None,
        }
    }

    #[test]
    fn service_pages_turn_through_each_service_wrap_long_lines_and_go_on_over_the_next_page() {
        let mut hall = Hall::builtin();
        let shipped: Vec<String> =
            hall.agency("disdukcapil").unwrap().services.iter().map(|s| s.name.clone()).collect();
        assert!(shipped.len() >= 2, "the built-in hall ships example standards");
        // A standard of the hall's own (not an example): six short requirements fill a page, a
        // long one wraps, and the service time goes on over the next page.
        let long = "Surat pengantar dari RT, RW, kelurahan dan kecamatan tempat tinggal yang masih \
            berlaku, ditandatangani dan distempel";
        let mut requirements: Vec<String> = (1..=6).map(|i| format!("Dokumen {i}")).collect();
        requirements.push(long.into());
        let bpjs = hall.agencies.iter_mut().find(|a| a.id == "bpjs-kesehatan").unwrap();
        bpjs.services = vec![crate::hall::ServiceStandard {
            name: "Pendaftaran peserta mandiri".into(),
            requirements,
            time: Some("Selesai di tempat".into()),
            cost: None,
            example: false,
        }];
        let region = services_region(&["disdukcapil", "bpjs-kesehatan", "bni"]);
        let area = Rect { x: 0.0, y: 960.0, w: 1080.0, h: 480.0 };
        let regular = Fitter::regular();
        let pages = service_pages(&region, &hall, area, &regular);
        let names: Vec<&str> = pages.iter().map(|p| p.service.name.as_str()).collect();
        let mut expected: Vec<&str> = shipped.iter().map(String::as_str).collect();
        expected.extend(["Pendaftaran peserta mandiri"; 2]);
        assert_eq!(names, expected, "hall order; bni publishes none");
        assert_eq!(pages.iter().map(|p| (p.number, p.of)).next_back(), Some((pages.len(), pages.len())));

        let said =
            |page: &ServicePage| -> Vec<String> { page.texts(area).into_iter().map(|t| t.text).collect() };
        let example = said(&pages[0]);
        for text in [SERVICES_EXAMPLE, "Persyaratan", "• Kartu Keluarga", "Biaya: Gratis"] {
            assert!(example.contains(&text.to_string()), "{text:?} in {example:?}");
        }
        assert!(example.contains(&format!("1/{}", pages.len())), "{example:?}");
        let (first, second) = (&pages[pages.len() - 2], &pages[pages.len() - 1]);
        let lines =
            |page: &ServicePage| -> Vec<String> { page.lines.iter().map(|l| l.text.clone()).collect() };
        assert_eq!(lines(first), (1..=6).map(|i| format!("• Dokumen {i}")).collect::<Vec<_>>());
        // The long requirement stays whole on the next page, wrapped, then the service time.
        let rest = lines(second);
        assert!(rest.len() >= 3 && rest[0].starts_with("• Surat pengantar"), "{rest:?}");
        assert_eq!(rest.last().unwrap(), "Jangka waktu: Selesai di tempat");
        let wrapped = rest[..rest.len() - 1].join(" ");
        assert_eq!(wrapped, format!("• {}", long.split_whitespace().collect::<Vec<_>>().join(" ")));
        let own = said(second);
        assert!(!own.contains(&SERVICES_EXAMPLE.to_string()), "the hall's own text is not marked: {own:?}");
        assert!(own.contains(&"Persyaratan (lanjutan)".to_string()), "{own:?}");
        assert!(own.contains(&"Standar Pelayanan · BPJS Kesehatan".to_string()), "{own:?}");

        // Every line fits its row at one size, wrapped lines indented past the bullet; every box
        // is inside the widget and none overlaps another.
        let size = regular.fit(TICKER_SAMPLE, f32::INFINITY, service_row(area, 0).h, 1).size;
        for page in &pages {
            let texts = page.texts(area);
            for (i, t) in texts.iter().enumerate() {
                let r = t.rect;
                let inside = r.x >= area.x
                    && r.y >= area.y
                    && r.x + r.w <= area.x + area.w + 0.01
                    && r.y + r.h <= area.y + area.h + 0.01;
                assert!(inside, "{t:?}");
                for u in &texts[..i] {
                    let o = overlap([r.x, r.y, r.w, r.h], [u.rect.x, u.rect.y, u.rect.w, u.rect.h]);
                    assert!(o < 1e-3, "{:?} overlaps {:?}", t.text, u.text);
                }
                if matches!(t.kind, ServiceText::Requirement | ServiceText::Detail) {
                    assert!(regular.line_width(&t.text, size) <= r.w, "{:?} is wider than its row", t.text);
                    let starts = ["• ", "Jangka waktu: ", "Biaya: "].iter().any(|p| t.text.starts_with(p));
                    assert_eq!(
                        r.x > service_row(area, 0).x,
                        !starts,
                        "{:?} indented only if it goes on",
                        t.text
                    );
                }
            }
        }

        // The layout check and the glyph warm-up see every page.
        let layout = Layout {
            name: "s".into(),
            orientation: Orientation::Portrait,
            background: default_background(),
            regions: vec![Region { at: [0.0, 0.5, 1.0, 0.25], ..region }],
        };
        let slots = text_slots(&layout, &hall, 1080.0, 1920.0);
        assert!(
            slots
                .iter()
                .any(|s| s.text == "Jangka waktu: Selesai di tempat" && s.widget == WidgetKind::Services)
        );
        let warmed = changing_texts(&layout, &hall, 1080.0, 1920.0);
        assert!(warmed.iter().any(|t| t.sample == "• Dokumen 6"));
    }

    #[test]
    fn a_services_region_takes_agencies_and_nothing_else() {
        let hall = Hall::builtin();
        let file = "name = \"s\"\n\n[[region]]\nat = [0.0, 0.0, 1.0, 1.0]\nwidget = \"services\"\nagencies = [\"disdukcapil\"]\n";
        assert!(Layout::parse("s.toml", file, Some(&hall)).is_ok());
        let error =
            Layout::parse("s.toml", &file.replace("disdukcapil", "dukcapil"), Some(&hall)).unwrap_err();
        assert!(error.to_string().contains("region 1: unknown agencies dukcapil"), "{error}");
        let error = Layout::parse("s.toml", &format!("{file}rows = 3\n"), Some(&hall)).unwrap_err();
        assert!(error.to_string().contains("region 1: rows does not apply to services"), "{error}");
    }
}
