//! Static files compiled into the binary: the vendored htmx (2.0.4, BSD Zero-Clause, see
//! `assets/htmx-LICENSE`) and the dashboard's stylesheet. Their names carry a version, so
//! they are cached for a year.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const HTMX: &str = include_str!("../../assets/htmx-2.0.4.min.js");
const CSS: &str = include_str!("../../assets/dashboard.css");

/// `GET /ui/assets/{name}`.
pub async fn serve(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "htmx-2.0.4.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        "dashboard-1.css" => (CSS, "text/css; charset=utf-8"),
        _ => return crate::error::ApiError::not_found("asset").into_response(),
    };
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}
