//! `papan report`: the day's report from the hub (`GET /api/report`) as a table, CSV or JSON.

use std::fmt::Write as _;

use serde_json::Value;

use super::{CliError, HubClientArgs};
use crate::client::{ClientError, http_base, hub_urls};
use crate::protocol::ErrorCode;

pub(super) async fn run(
    day: Option<String>,
    csv: bool,
    json: bool,
    hub: &HubClientArgs,
) -> Result<(), CliError> {
    let options = hub.options(crate::protocol::Role::Staff)?;
    let first = hub_urls(&options.url).into_iter().next().unwrap_or_default();
    let base =
        http_base(&first).ok_or_else(|| CliError::Usage(format!("--hub {first:?} is not a hub address")))?;
    let mut url = format!("{base}/api/report?format={}", if csv { "csv" } else { "json" });
    if let Some(day) = &day {
        url.push_str(&format!("&day={}", crate::client::path_segment(day)));
    }
    let response = crate::tls::http_client()
        .get(&url)
        .bearer_auth(&options.token)
        .timeout(options.timeout)
        .send()
        .await
        .map_err(|e| unreachable(&base, e))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| unreachable(&base, e))?;
    if !status.is_success() {
        let error: Value = serde_json::from_str(&body).unwrap_or_default();
        let message = error["error"]["message"].as_str().unwrap_or(&body).to_string();
        return Err(match serde_json::from_value::<ErrorCode>(error["error"]["code"].clone()) {
            Ok(code) => CliError::Client(ClientError::Refused { code, message }),
            Err(_) => CliError::Other(anyhow::anyhow!("the hub answered {status}: {message}")),
        });
    }
    if csv || json {
        print!("{body}");
        if json {
            println!();
        }
        return Ok(());
    }
    let report: Value = serde_json::from_str(&body).map_err(|e| CliError::Other(e.into()))?;
    print!("{}", table(&report));
    Ok(())
}

fn unreachable(url: &str, e: reqwest::Error) -> CliError {
    CliError::Client(ClientError::Unreachable { url: url.to_string(), reason: e.to_string() })
}

/// The report as a text table, one agency a line and the hall's total last.
fn table(report: &Value) -> String {
    let mut out =
        format!("{} · {}\n", report["hall"].as_str().unwrap_or(""), report["day"].as_str().unwrap_or(""));
    let header = [
        "agency",
        "issued",
        "served",
        "no-show",
        "unserved",
        "wait med/p90",
        "service med/p90",
        "in standard",
        "bands held",
        "IKM",
    ];
    let mut rows = vec![header.map(String::from).to_vec()];
    let empty = Vec::new();
    for agency in report["agencies"].as_array().unwrap_or(&empty).iter().chain([&report["total"]]) {
        let minutes = |spread: &Value| {
            let m = |v: &Value| v.as_f64().map_or("—".to_string(), |v| format!("{v}"));
            format!("{}/{} min", m(&spread["median_minutes"]), m(&spread["p90_minutes"]))
        };
        let share = |s: &Value| match s["percent"].as_f64() {
            Some(p) => format!("{p} % of {}", s["of"]),
            None => "—".to_string(),
        };
        let ikm = &agency["ikm"];
        let ikm = match ikm["score"].as_f64() {
            Some(score) => {
                format!("{score} {} ({} answers)", ikm["category"].as_str().unwrap_or(""), ikm["answers"])
            }
            None => "—".to_string(),
        };
        let name = match agency["id"].as_str() {
            Some("") | None => "Total".to_string(),
            Some(id) => id.to_string(),
        };
        rows.push(vec![
            name,
            agency["issued"].to_string(),
            agency["served"].to_string(),
            agency["no_show"].to_string(),
            agency["unserved"].to_string(),
            minutes(&agency["wait"]),
            minutes(&agency["service"]),
            share(&agency["within_standard"]),
            share(&agency["estimates"]),
            ikm,
        ]);
    }
    let widths: Vec<usize> =
        (0..header.len()).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}
