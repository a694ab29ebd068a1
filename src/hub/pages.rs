//! The browser pages the hub serves: the staff console at `/` and the fleet page at `/screens`
//! (and `papan city` its city page).
//! Plain HTML, CSS and JS from `assets/console/`, built into the binary (no CDN, no build step).

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get};

use super::server::Shared;

/// A file of `assets/console/` built into the binary, served as `mime`.
macro_rules! asset {
    ($file:literal, $mime:literal) => {
        $crate::hub::pages::served(include_str!(concat!("../../assets/console/", $file)), $mime)
    };
}
pub(crate) use asset;

/// A built-in file; browsers ask again each time, so a new papan's pages show at once.
pub(crate) fn served<S: Clone + Send + Sync + 'static>(
    body: &'static str,
    mime: &'static str,
) -> MethodRouter<S> {
    get(move || async move {
        ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "no-cache")], body).into_response()
    })
}

pub fn routes() -> axum::Router<Arc<Shared>> {
    axum::Router::new()
        .route("/", asset!("index.html", "text/html; charset=utf-8"))
        .route("/screens", asset!("screens.html", "text/html; charset=utf-8"))
        .route("/console.css", asset!("console.css", "text/css; charset=utf-8"))
        .route("/common.js", asset!("common.js", "text/javascript; charset=utf-8"))
        .route("/console.js", asset!("console.js", "text/javascript; charset=utf-8"))
        .route("/screens.js", asset!("screens.js", "text/javascript; charset=utf-8"))
        .route("/ambil", asset!("ambil.html", "text/html; charset=utf-8"))
        .route("/ambil.js", asset!("ambil.js", "text/javascript; charset=utf-8"))
        .route("/ambil.css", asset!("ambil.css", "text/css; charset=utf-8"))
        .route("/receipt-58.css", asset!("receipt-58.css", "text/css; charset=utf-8"))
}
