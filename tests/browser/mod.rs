//! A real headless Chromium driven over the DevTools protocol (a WebSocket, spoken with the
//! same tokio-tungstenite the hub uses): open a page, run JS in it, wait for what it shows, and
//! take a screenshot. Needs Debian's `chromium` (installed by scripts/setup).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Browser {
    process: Child,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Browser {
    /// Starts Chromium with an empty profile and opens one tab of `width`×`height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut process = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                &format!("--window-size={width},{height}"),
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium is installed (scripts/setup installs it)");
        let stderr = process.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        // A cold start on a busy 2-core machine took 17 s once: a minute, to fail only when stuck.
        let url = rx.recv_timeout(Duration::from_secs(60)).expect("chromium printed its DevTools address");
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
        let mut browser = Browser { process, ws, session: String::new(), next_id: 0, _profile: profile };
        browser.open_tab(width, height).await;
        browser
    }

    /// Opens another tab (same profile, so the same localStorage) and works in it from now on;
    /// returns the tab it worked in before, for [`Browser::switch_to`].
    pub async fn open_tab(&mut self, width: u32, height: u32) -> String {
        let previous = std::mem::take(&mut self.session);
        let target = self.call("Target.createTarget", json!({ "url": "about:blank" })).await;
        let attached = self
            .call("Target.attachToTarget", json!({ "targetId": target["targetId"], "flatten": true }))
            .await;
        self.session = attached["sessionId"].as_str().unwrap().to_string();
        let metrics = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false });
        self.call("Emulation.setDeviceMetricsOverride", metrics).await;
        self.call("Page.enable", json!({})).await;
        previous
    }

    /// Works in `tab` from now on; returns the tab it worked in before.
    pub fn switch_to(&mut self, tab: String) -> String {
        std::mem::replace(&mut self.session, tab)
    }

    /// Sends one DevTools command (to the tab once attached) and returns its result.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        let sent = message.to_string();
        self.ws.send(Message::Text(sent.clone().into())).await.unwrap();
        loop {
            let reply = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method}"))
                .unwrap()
                .unwrap();
            let Message::Text(text) = reply else { continue };
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["id"] == json!(id) {
                // The whole command in the message: "Execution context was destroyed" alone
                // does not say which wait or script met a navigation.
                assert!(value.get("error").is_none(), "{sent}: {}", value["error"]);
                return value["result"].clone();
            }
        }
    }

    pub async fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url })).await;
        self.wait_for("document.readyState === 'complete' && !!document.body").await;
    }

    /// Runs `expression` in the page (promises awaited) and returns its JSON value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let params = json!({ "expression": expression, "awaitPromise": true, "returnByValue": true });
        let result = self.call("Runtime.evaluate", params).await;
        assert!(result.get("exceptionDetails").is_none(), "{expression}: {}", result["exceptionDetails"]);
        result["result"]["value"].clone()
    }

    /// Waits until `condition` (JS) is true in the page; panics with what the page shows if not.
    pub async fn wait_for(&mut self, condition: &str) -> Duration {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if self.eval(&format!("Boolean({condition})")).await == json!(true) {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let body = self.eval("document.body ? document.body.innerText : ''").await;
        panic!("waited 15 s for `{condition}`; the page shows:\n{}", body.as_str().unwrap_or_default());
    }

    /// The visible text of the element with this id.
    pub async fn text(&mut self, id: &str) -> String {
        let value = self.eval(&format!("document.getElementById({id:?}).innerText")).await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// Types into an input and submits its form, as a person would.
    pub async fn fill(&mut self, id: &str, value: &str) {
        let script = format!(
            "(() => {{ const input = document.getElementById({id:?}); input.value = {value:?}; \
             input.dispatchEvent(new Event('input', {{bubbles: true}})); }})()"
        );
        self.eval(&script).await;
    }

    pub async fn click(&mut self, selector: &str) {
        let script = format!("document.querySelector({selector:?}).click()");
        self.eval(&script).await;
    }

    /// Taps the middle of the element as a finger would (trusted pointer events: a page may start
    /// its sound only after one).
    pub async fn tap(&mut self, selector: &str) {
        let script = format!(
            "(() => {{ const r = document.querySelector({selector:?}).getBoundingClientRect(); \
             return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
        );
        let at = self.eval(&script).await;
        let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
        for kind in ["mousePressed", "mouseReleased"] {
            let params = json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 });
            self.call("Input.dispatchMouseEvent", params).await;
        }
    }

    /// Presses a key the way the keyboard would (trusted key events).
    pub async fn press(&mut self, key: &str, code: u32) {
        for kind in ["rawKeyDown", "keyUp"] {
            let params = json!({ "type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code });
            self.call("Input.dispatchKeyEvent", params).await;
        }
    }

    /// Prints the tab to a PDF as its print style sheet and `@page` size say (a receipt printer's).
    pub async fn print_pdf(&mut self, path: &Path) {
        let params = json!({ "preferCSSPageSize": true, "printBackground": true });
        let pdf = self.call("Page.printToPDF", params).await;
        let bytes = data_encoding::BASE64.decode(pdf["data"].as_str().unwrap().as_bytes()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Saves what the tab shows as a PNG.
    pub async fn screenshot(&mut self, path: &Path) {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" })).await;
        let png = data_encoding::BASE64.decode(shot["data"].as_str().unwrap().as_bytes()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}
