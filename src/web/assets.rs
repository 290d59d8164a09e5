//! CSS, JS and icons from `assets/`, embedded in the binary. A small handler rather than
//! poem's `EmbeddedFilesEndpoint`, which answers 404 under `TestClient`.

use poem::http::StatusCode;
use poem::web::Path;
use poem::{IntoResponse, Request, Response, handler};

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
struct Assets;

#[handler]
pub fn serve(req: &Request, Path(path): Path<String>) -> Response {
    let Some(file) = Assets::get(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    if req.header("if-none-match") == Some(etag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    Response::builder()
        .content_type(file.metadata.mimetype())
        .header("etag", etag)
        // Names are not versioned: let browsers keep files, but ask (cheaply, by ETag) first.
        .header("cache-control", "no-cache")
        .header("x-content-type-options", "nosniff")
        .body(file.data.into_owned())
}

use crate::domain::random::hex;
