//! The day's report for staff: `/laporan` (a page), `GET /api/report?day=D[&format=csv]` and
//! its charts `GET /api/report/chart/{hours|waits}?day=D` as SVG, all with a staff token. The
//! numbers come from the day history (see [`super::history`]) folded by [`crate::day_report`].

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use plotters::prelude::*;
use serde::Deserialize;

use super::core::CoreHandle;
use super::history::{self, HistoryError};
use super::http::{ApiError, staff_only};
use super::server::Shared;
use crate::day_report::{DayLog, DayReport};
use crate::protocol::ErrorCode;

pub fn routes() -> axum::Router<Arc<Shared>> {
    axum::Router::new()
        .route("/laporan", super::pages::asset!("laporan.html", "text/html; charset=utf-8"))
        .route("/laporan.js", super::pages::asset!("laporan.js", "text/javascript; charset=utf-8"))
        .route("/api/report", get(get_report))
        .route("/api/report/chart/{chart}", get(get_chart))
}

/// `?day=YYYY-MM-DD&format=json|csv` of the report's URLs (the hub's and the city's).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQuery {
    /// Hall-local; the service day in progress when absent.
    #[serde(default)]
    pub day: Option<String>,
    /// `json` (the default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
}

impl ReportQuery {
    /// The day asked for, if any, or why it is not a day.
    pub(crate) fn day(&self) -> Result<Option<jiff::civil::Date>, ApiError> {
        let Some(text) = &self.day else { return Ok(None) };
        text.parse().map(Some).map_err(|_| {
            let text = crate::protocol::truncate(text, 20);
            bad_query("day", &format!("day {text:?} is not a date like 2026-12-03"))
        })
    }

    /// Whether CSV is asked for.
    pub(crate) fn csv(&self) -> Result<bool, ApiError> {
        match self.format.as_deref() {
            None | Some("json") => Ok(false),
            Some("csv") => Ok(true),
            Some(_) => Err(bad_query("format", "format is json or csv")),
        }
    }
}

async fn get_report(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    staff_only(&shared.tokens, &headers)?;
    let csv = query.csv()?;
    let report = build(&shared, query.day()?).await?;
    if !csv {
        return Ok(axum::Json(report).into_response());
    }
    let day = report.day.map(|d| d.to_string()).unwrap_or_default();
    let disposition = format!("attachment; filename=\"laporan-{day}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).expect("a date is ASCII")),
        ],
        report.to_csv(),
    )
        .into_response())
}

async fn get_chart(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(chart): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    staff_only(&shared.tokens, &headers)?;
    if !CHARTS.contains(&chart.as_str()) {
        return Err(unknown_chart());
    }
    let report = build(&shared, query.day()?).await?;
    chart_response(&chart, &report, "instansi")
}

const CHARTS: [&str; 2] = ["hours", "waits"];

fn unknown_chart() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::BadFrame, "charts are hours and waits")
}

/// One of the report's charts as an SVG answer (the hub's, a row per agency, and the city's, a row
/// per hall: `rows` names them).
pub(crate) fn chart_response(chart: &str, report: &DayReport, rows: &str) -> Result<Response, ApiError> {
    let svg = match chart {
        "hours" => hours_chart(report),
        "waits" => waits_chart(report, rows),
        _ => return Err(unknown_chart()),
    };
    let svg = svg.map_err(|e| {
        tracing::error!("drawing the {chart} chart failed: {e}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::BadFrame, "the chart could not be drawn")
    })?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// The report of `day` as the HTTP API answers it.
async fn build(shared: &Shared, day: Option<jiff::civil::Date>) -> Result<DayReport, ApiError> {
    day_report(&shared.core, &shared.history, day).await.map_err(|e| match e {
        ReportError::Stopping => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::ShuttingDown, "the hub is stopping")
        }
        ReportError::History(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::JournalUnavailable,
            "the day history cannot be read; see the hub's log",
        ),
    })
}

/// Why a day's report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the hub is stopping")]
    Stopping,
    #[error("the day history cannot be read: {0}")]
    History(String),
}

/// The report of `day` (the service day in progress when none), from the day history at
/// `history` and the hall in use: for the HTTP API and for the city.
pub(crate) async fn day_report(
    core: &CoreHandle,
    history: &std::path::Path,
    day: Option<jiff::civil::Date>,
) -> Result<DayReport, ReportError> {
    let (board, hall) = core.board_and_hall().await.ok_or(ReportError::Stopping)?;
    let day = day.or(board.day).unwrap_or_else(|| hall.timezone.date_at(jiff::Timestamp::now()));
    let path = history.to_path_buf();
    let frames = tokio::task::spawn_blocking(move || history::read_day(&path, day))
        .await
        .map_err(|e| ReportError::History(e.to_string()))?;
    let frames = match frames {
        Ok(frames) => frames,
        // A hub that has stored nothing yet has an empty day, not an error.
        Err(HistoryError::Missing(_)) => Vec::new(),
        Err(e) => {
            tracing::error!("reading the day history failed: {e}");
            return Err(ReportError::History(e.to_string()));
        }
    };
    let mut log = DayLog::from_events(&frames);
    log.day = Some(day);
    Ok(DayReport::build(&log, &hall))
}

fn bad_query(field: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadFrame, message).field(field)
}

/// Chart colours: the console's blue for arrivals, green for served.
const ISSUED: RGBColor = RGBColor(0x1f, 0x5f, 0xbf);
const SERVED: RGBColor = RGBColor(0x2e, 0x8b, 0x57);
const FONT: &str = "sans-serif";

type Drawn = Result<String, Box<dyn std::error::Error>>;

/// Tickets handed out and served per hour, side by side.
fn hours_chart(report: &DayReport) -> Drawn {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 340)).into_drawing_area();
        root.fill(&WHITE)?;
        let (first, last) = match (report.hours.first(), report.hours.last()) {
            (Some(first), Some(last)) => (f64::from(first.hour), f64::from(last.hour)),
            _ => (8.0, 16.0),
        };
        let top = report.hours.iter().map(|h| h.issued.max(h.served)).max().unwrap_or(0).max(4);
        let mut chart = ChartBuilder::on(&root)
            .caption("Tiket diambil dan dilayani per jam", (FONT, 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(first - 0.5..last + 0.5, 0u32..top + top / 8 + 1)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_labels(report.hours.len().max(2))
            .x_label_formatter(&|h| format!("{:02}.00", h.round() as i64))
            .y_desc("Tiket")
            .label_style((FONT, 14))
            .draw()?;
        let bars = |colour: RGBColor, offset: f64, value: fn(&crate::day_report::HourCount) -> u32| {
            report.hours.iter().map(move |h| {
                let x = f64::from(h.hour) + offset;
                Rectangle::new([(x, 0), (x + 0.38, value(h))], colour.filled())
            })
        };
        chart
            .draw_series(bars(ISSUED, -0.4, |h| h.issued))?
            .label("Diambil")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], ISSUED.filled()));
        chart
            .draw_series(bars(SERVED, 0.02, |h| h.served))?
            .label("Dilayani")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], SERVED.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.filled())
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 14))
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// Each row's waits (an agency's, or a hall's) as a box plot (quartiles, whiskers at 1.5 IQR),
/// in minutes.
fn waits_chart(report: &DayReport, rows_are: &str) -> Drawn {
    let rows: Vec<(&str, Quartiles)> = report
        .agencies
        .iter()
        .filter(|a| !a.waits_secs.is_empty())
        .map(|a| {
            let minutes: Vec<f64> = a.waits_secs.iter().map(|&s| f64::from(s) / 60.0).collect();
            (a.short.as_str(), Quartiles::new(&minutes))
        })
        .collect();
    let names: Vec<&str> = rows.iter().map(|(name, _)| *name).collect();
    let count = names.len().max(1) as i32;
    let height = 90 + 34 * count as u32;
    let longest = rows.iter().map(|(_, q)| q.values()[4]).fold(10.0_f32, f32::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Lama menunggu per {rows_are} (menit)"), (FONT, 22))
            .margin(12)
            .margin_right(28)
            .x_label_area_size(36)
            .y_label_area_size(170)
            .build_cartesian_2d(0f32..longest * 1.05, (0..count).into_segmented())?;
        // Agencies by their place, the hall's first at the top (plotters draws a slice's labels
        // only when it has two or more).
        let row_of = |i: usize| count - 1 - i as i32;
        let name_of = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(y) => {
                names.get((count - 1 - y) as usize).map_or(String::new(), |n| n.to_string())
            }
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .y_labels(names.len().max(1))
            .y_label_formatter(&name_of)
            .x_label_formatter(&|m| format!("{m:.0}"))
            .x_desc("Menit dari ambil tiket sampai dipanggil")
            .label_style((FONT, 14))
            .draw()?;
        chart.draw_series(rows.iter().enumerate().map(|(i, (_, quartiles))| {
            Boxplot::new_horizontal(SegmentValue::CenterOf(row_of(i)), quartiles)
                .width(18)
                .whisker_width(0.6)
                .style(ISSUED)
        }))?;
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both charts of a simulated day: every busy hour and every agency is labelled. The SVGs are
    /// left in the temp folder for a look (`papan-report-hours.svg`, `papan-report-waits.svg`).
    #[test]
    fn the_charts_of_a_full_day_label_every_hour_and_agency() {
        let (_, report) = crate::day_report::simulated_day();
        let hours = hours_chart(&report).unwrap();
        let waits = waits_chart(&report, "instansi").unwrap();
        for (name, svg) in [("hours", &hours), ("waits", &waits)] {
            std::fs::write(std::env::temp_dir().join(format!("papan-report-{name}.svg")), svg).unwrap();
        }
        for hour in &report.hours {
            assert!(hours.contains(&format!(">\n{:02}.00\n<", hour.hour)), "hour {} unlabelled", hour.hour);
        }
        for agency in &report.agencies {
            let label = agency.short.replace('&', "&amp;");
            assert!(waits.contains(&format!(">\n{label}\n<")), "{label} unlabelled");
        }
    }
}
