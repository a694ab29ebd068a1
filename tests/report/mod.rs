//! The day's report and the citizens' survey through the real `papan` binary: answers taken once
//! per served ticket and still refused a second time after `kill -9`; `/api/report` (JSON, CSV,
//! charts) and `papan report` counting a scripted day as worked out here.

use std::process::Command as Process;

use papan::client::{ClientError, Session};
use papan::protocol::{Command, CounterCommand, ErrorCode, Rating, Role, SurveyCommand};
use serde_json::{Value, json};

use super::{HubProcess, called, free_listen_addr, get_json, issue, next_at};

/// `POST /antrean/penilaian` as the phone page sends it: the status and the error code if any.
async fn rate(http: &str, body: Value) -> (u16, Option<String>) {
    let response = papan::tls::http_client()
        .post(format!("{http}/antrean/penilaian"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap_or_default();
    (status, answer["error"]["code"].as_str().map(String::from))
}

async fn get(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = papan::tls::http_client().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn survey_answers_are_taken_once_per_served_ticket_and_the_day_report_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let listen = free_listen_addr();
    let hub = HubProcess::start_on(data, &listen);
    let http = format!("http://{}", hub.addr);
    let mut kiosk = Session::connect(&hub.options(data, Role::Kiosk), 0).await.unwrap();
    let mut staff = Session::connect(&hub.options(data, Role::Staff), 0).await.unwrap();
    for id in ["k1", "k2", "k3"] {
        kiosk.command(id, issue("disdukcapil", None)).await.unwrap();
    }
    // A-001 is served at counter 1, A-002 does not come to counter 2, A-003 is never called.
    assert_eq!(called(&mut staff, "n1", next_at(1)).await, "A-001");
    assert_eq!(called(&mut staff, "n2", next_at(2)).await, "A-002");
    staff.command("d1", Command::Done(CounterCommand { counter: 1, agency: None })).await.unwrap();
    staff.command("m2", Command::NoShow(CounterCommand { counter: 2, agency: None })).await.unwrap();

    let mut screen = Session::connect(&hub.options(data, Role::Display), 0).await.unwrap();
    let answer = |ticket: &str, rating: &str| json!({ "ticket": ticket, "rating": rating, "comment": "Petugas ramah" });
    assert_eq!(rate(&http, answer("a1", "sangat_baik")).await, (200, None), "a sloppy number is understood");
    // Screens keep the seq; the citizen's words are for the report only.
    let survey = loop {
        match tokio::time::timeout(super::WAIT, screen.next_frame()).await.unwrap().unwrap() {
            Some(papan::protocol::HubFrame::Event(frame)) => {
                if let papan::protocol::Event::Survey(answer) = frame.event {
                    break answer;
                }
            }
            Some(_) => {}
            None => panic!("the screen's feed closed"),
        }
    };
    assert_eq!(
        (survey.ticket.to_string(), survey.rating, survey.comment),
        ("A-001".into(), Rating::SangatBaik, None)
    );
    assert_eq!(rate(&http, answer("A-001", "baik")).await, (409, Some("already_answered".into())));
    assert_eq!(rate(&http, answer("A-002", "baik")).await, (404, Some("not_served".into())), "did not come");
    assert_eq!(rate(&http, answer("A-003", "baik")).await, (404, Some("not_served".into())), "still waiting");
    let (status, code) = rate(&http, answer("A-001", "bagus")).await;
    assert_eq!((status, code.as_deref()), (400, Some("bad_frame")), "not one of the four answers");
    let long = json!({ "ticket": "A-001", "rating": "baik", "comment": "x".repeat(501) });
    assert_eq!(rate(&http, long).await, (400, Some("invalid_command".into())));
    // No token may answer for a citizen.
    let survey = Command::Survey(SurveyCommand {
        ticket: "A-001".parse().unwrap(),
        rating: Rating::Baik,
        comment: None,
    });
    let refused = staff.command("s-staff", survey).await.unwrap_err();
    assert!(matches!(&refused, ClientError::Refused { code: ErrorCode::Forbidden, .. }), "{refused}");

    // Killed without warning: the answer is durable, so a second one is still refused.
    hub.signal("-KILL");
    drop(hub);
    let hub = HubProcess::start_on(data, &listen);
    assert_eq!(rate(&http, answer("A-001", "tidak_baik")).await, (409, Some("already_answered".into())));
    // 5 KB is more than any answer: refused before it is read. An address that keeps sending is
    // held to 20 answers at once, then one a second.
    let huge = json!({ "ticket": "A-001", "rating": "baik", "comment": "x".repeat(5 * 1024) });
    assert_eq!(rate(&http, huge).await, (413, Some("frame_too_large".into())));
    let mut answered = Vec::new();
    for _ in 0..25 {
        answered.push(rate(&http, answer("A-001", "baik")).await);
    }
    let refused = (409, Some("already_answered".to_string()));
    assert!(answered[..15].iter().all(|a| *a == refused), "{answered:?}");
    assert!(answered.contains(&(429, Some("rate_limited".into()))), "{answered:?}");

    let token = hub.options(data, Role::Staff).token;
    let display_token = hub.options(data, Role::Display).token;
    assert_eq!(get(&format!("{http}/api/report"), None).await.status(), 401);
    assert_eq!(get(&format!("{http}/api/report"), Some(&display_token)).await.status(), 403);
    let bad_day = get(&format!("{http}/api/report?day=kemarin"), Some(&token)).await;
    assert_eq!(bad_day.status(), 400);
    assert!(bad_day.text().await.unwrap().contains("not a date like 2026-12-03"));

    let report = get_json(format!("{http}/api/report"), Some(&token)).await;
    let dukcapil = &report["agencies"][0];
    assert_eq!(dukcapil["id"], "disdukcapil", "{report}");
    assert_eq!(report["agencies"].as_array().unwrap().len(), 1, "only agencies with tickets: {report}");
    let counts = |a: &Value| {
        ["issued", "served", "no_show", "unserved"]
            .map(|k| a[k].as_u64().unwrap_or_else(|| panic!("{k} in {a}")))
    };
    assert_eq!(counts(dukcapil), [3, 1, 1, 1]);
    assert_eq!(counts(&report["total"]), [3, 1, 1, 1]);
    assert_eq!(
        (dukcapil["wait"]["count"].as_u64(), dukcapil["service"]["count"].as_u64()),
        (Some(2), Some(1))
    );
    let ikm = &dukcapil["ikm"];
    assert_eq!(
        (ikm["answers"].as_u64(), ikm["score"].as_f64(), ikm["category"].as_str()),
        (Some(1), Some(100.0), Some("A"))
    );
    assert_eq!(ikm["counts"], json!([0, 0, 0, 1]));
    assert_eq!(report["comments"][0]["text"], "Petugas ramah", "{report}");
    assert_eq!(report["comments"][0]["rating"], "sangat_baik");
    assert!(report["comments"][0].get("ticket").is_none(), "nothing leads back to the ticket");
    let hours: u64 = report["hours"].as_array().unwrap().iter().map(|h| h["issued"].as_u64().unwrap()).sum();
    assert_eq!(hours, 3, "every ticket in its hour: {report}");

    let csv = get(&format!("{http}/api/report?format=csv"), Some(&token)).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].contains(",disdukcapil,Dinas Kependudukan dan Pencatatan Sipil,3,1,1,1,"), "{csv}");
    assert!(lines[2].contains(",total,") && lines[2].ends_with(",1,100,A"), "{csv}");

    for (chart, words) in [("hours", "Diambil"), ("waits", "Disdukcapil")] {
        let response = get(&format!("{http}/api/report/chart/{chart}"), Some(&token)).await;
        assert_eq!(response.headers()["content-type"], "image/svg+xml");
        let svg = response.text().await.unwrap();
        // Kept for a look (the browser test shows them in /laporan).
        std::fs::write(
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{chart}.svg")),
            &svg,
        )
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.contains(words), "{chart}: {svg:.300}");
    }
    assert_eq!(get(&format!("{http}/api/report/chart/pie"), Some(&token)).await.status(), 404);

    // `papan report`: the same CSV, and a table for people.
    let papan = env!("CARGO_BIN_EXE_papan");
    let run = |args: &[&str]| {
        Process::new(papan)
            .args(["report", "--hub", &format!("ws://{}/ws", hub.addr), "--token", &token])
            .args(args)
            .output()
            .unwrap()
    };
    let cli_csv = run(&["--csv"]);
    assert!(cli_csv.status.success(), "{}", String::from_utf8_lossy(&cli_csv.stderr));
    assert_eq!(String::from_utf8_lossy(&cli_csv.stdout), csv);
    let table = run(&[]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.lines().any(|l| l.starts_with("disdukcapil") && l.contains("100 A (1 answers)")),
        "{table}"
    );
    let bad = run(&["--day", "2026-13-01"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a date"), "{bad:?}");
}
