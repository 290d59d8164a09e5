//! What every page shares: the layout data, flash messages, the security headers,
//! and the error pages (the settings pages' one error type is a rendered page).

use askama::Template;
use askama_web::WebTemplate;
use poem::http::StatusCode;
use poem::web::Redirect;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response};

use super::session::{self, FLASH_COOKIE};

/// The signed-in admin as the layout shows them (the CSRF token feeds the sign-out form).
pub struct SignedIn {
    pub email: String,
    pub csrf: String,
}

pub struct Flash {
    pub kind: &'static str,
    pub text: &'static str,
}

pub struct Layout {
    pub title: String,
    /// Which navigation entry is current: "overview", "offers", "partners", "conversions",
    /// "reports", "brands", "keys" or "".
    pub active: &'static str,
    pub user: Option<SignedIn>,
    pub flash: Option<Flash>,
    /// On the dashboard's pages: the brand shown, and the others to switch to.
    pub brand: Option<BrandNav>,
}

/// The brand switcher of the header.
pub struct BrandNav {
    pub id: i64,
    pub name: String,
    /// The brand's time zone, shown beside every date.
    pub zone: String,
    pub others: Vec<(i64, String)>,
}

impl Layout {
    pub fn new(
        req: &Request,
        title: impl Into<String>,
        active: &'static str,
        user: Option<SignedIn>,
    ) -> Layout {
        Layout {
            title: title.into(),
            active,
            user,
            flash: session::cookie(req, FLASH_COOKIE).and_then(flash_text),
            brand: None,
        }
    }
}

/// Flash messages travel as a short code in a cookie across one redirect; only these fixed
/// texts can ever be shown, so a forged cookie can't put words on the page.
fn flash_text(code: &str) -> Option<Flash> {
    let (kind, text) = match code {
        "setup_done" => (
            "ok",
            "Your admin account is ready. Next: create a brand, then generate its API key.",
        ),
        "signed_in" => ("ok", "Signed in."),
        "signed_out" => ("ok", "You are signed out."),
        "brand_created" => ("ok", "Brand created."),
        "brand_renamed" => ("ok", "Brand renamed."),
        "first_brand" => ("info", "Create your first brand to open its dashboard."),
        "offer_created" => (
            "ok",
            "Offer created. Next: add a partner and copy their tracking link.",
        ),
        "offer_saved" => ("ok", "Offer saved."),
        "partner_created" => ("ok", "Partner created."),
        "partner_saved" => ("ok", "Partner saved."),
        "conversions_changed" => ("ok", "Conversions updated. Reports show the change now."),
        "nothing_selected" => ("info", "Select at least one conversion first."),
        "cap_added" => (
            "ok",
            "Cap added. Conversions past it are kept as rejected (cap_reached).",
        ),
        "cap_removed" => ("ok", "Cap removed."),
        "rule_added" => (
            "ok",
            "Payout rule added. It prices conversions recorded from now on.",
        ),
        "rule_removed" => (
            "ok",
            "Payout rule removed. Conversions it priced keep their payout.",
        ),
        "statements_created" => (
            "ok",
            "Statements created. Review the lines, then mark them paid.",
        ),
        "nothing_to_pay" => (
            "info",
            "Nothing to pay up to that date: no approved conversion is left off a statement.",
        ),
        "statement_paid" => ("ok", "Statement marked paid."),
        "statement_deleted" => (
            "ok",
            "Statement deleted. Its conversions go on the next one.",
        ),
        "brand_timezone_set" => ("ok", "Time zone saved."),
        "key_revoked" => (
            "ok",
            "Key revoked. API calls with it are refused from now on.",
        ),
        "already_set_up" => (
            "info",
            "Setup is already done. Sign in with the admin account.",
        ),
        _ => return None,
    };
    Some(Flash { kind, text })
}

/// A rendered page with its status; clears a flash cookie the page has just shown.
pub fn render(req: &Request, tpl: impl IntoResponse, status: StatusCode) -> Response {
    let mut resp = tpl.into_response();
    resp.set_status(status);
    if session::cookie(req, FLASH_COOKIE).is_some() {
        session::clear_cookie(req, &mut resp, FLASH_COOKIE);
    }
    resp
}

/// 303 See Other: after a POST the browser follows with a GET.
pub fn redirect(to: &str) -> Response {
    Redirect::see_other(to).into_response()
}

/// A redirect that shows `flash` on the next page.
pub fn redirect_with_flash(req: &Request, to: &str, flash: &'static str) -> Response {
    let mut resp = redirect(to);
    session::set_cookie(req, &mut resp, FLASH_COOKIE, flash, Some(60));
    resp
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    l: Layout,
    heading: &'static str,
    message: String,
}

fn error_page(status: StatusCode, heading: &'static str, message: &str) -> poem::Error {
    poem::Error::from_response(error_response(status, heading, message))
}

fn error_response(status: StatusCode, heading: &'static str, message: &str) -> Response {
    let l = Layout {
        title: heading.into(),
        active: "",
        user: None,
        flash: None,
        brand: None,
    };
    let mut resp = ErrorPage {
        l,
        heading,
        message: message.to_string(),
    }
    .into_response();
    resp.set_status(status);
    resp
}

/// A POST without the form's CSRF token: refused before anything changes.
pub fn forbidden() -> poem::Error {
    error_page(
        StatusCode::FORBIDDEN,
        "This form can't be accepted",
        "It was not sent from this Trcker page, or the page is too old. Go back, reload the page and try again.",
    )
}

/// A form body over [`MAX_FORM_BYTES`]: no form of ours comes near it.
pub fn too_large() -> poem::Error {
    error_page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "This form is too large",
        "The server accepts at most 16 KiB from a form. Go back, shorten what you typed and try again.",
    )
}

/// Every password-hashing slot is taken (see `argon2_gate`): refused at once rather than queued,
/// and the browser is told when to come back.
pub fn busy() -> poem::Error {
    let mut resp = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "The server is busy",
        "Too many sign-ins are being checked right now. Wait a few seconds and try again.",
    );
    resp.headers_mut().insert(
        poem::http::header::RETRY_AFTER,
        poem::http::HeaderValue::from_static(BUSY_RETRY_AFTER_SECS),
    );
    poem::Error::from_response(resp)
}

/// What [`busy`] puts in `Retry-After`: an argon2 check takes well under a second.
pub const BUSY_RETRY_AFTER_SECS: &str = "5";

/// A change the domain refuses (its message is for people), as a 422 page.
pub fn refused(message: &str) -> poem::Error {
    error_page(
        StatusCode::UNPROCESSABLE_ENTITY,
        "That can't be done",
        &format!("{message}. Go back and change it."),
    )
}

pub fn not_found() -> poem::Error {
    error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing here. It may have been removed.",
    )
}

/// A store failure as a page: a row that isn't there (or is another brand's) is the 404 page,
/// anything else the logged 500.
pub fn store_error(e: crate::store::StoreError) -> poem::Error {
    match e {
        crate::store::StoreError::NotFound => not_found(),
        e => internal(e),
    }
}

/// A bug or a database failure: logged (store errors carry no secrets), not shown.
pub fn internal(e: impl std::fmt::Display) -> poem::Error {
    tracing::error!(error = %e, "page failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete this request. Try again; if it keeps failing, check the server's log.",
    )
}

/// The most a form may send. The largest real one (setup) is well under 3 KiB; the
/// cap keeps one request from making the server buffer whatever a client cares to send.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// Refuse a body over [`MAX_FORM_BYTES`], then hand the handler the (small) body read into
/// memory. A declared Content-Length over the cap is refused before a byte of the body is
/// read; a body without one (chunked) is read at most 4 KiB past the cap before the refusal.
async fn capped_body(mut req: Request) -> poem::Result<Request> {
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_FORM_BYTES as u64) {
        return Err(too_large());
    }
    let body = req.take_body();
    match body.into_bytes_limit(MAX_FORM_BYTES).await {
        Ok(bytes) => req.set_body(bytes),
        Err(poem::error::ReadBodyError::PayloadTooLarge) => return Err(too_large()),
        Err(e) => return Err(e.into()),
    }
    Ok(req)
}

/// The security baseline of every settings page, on errors and redirects too (poem's
/// `SetHeader` skips responses that travel as errors, so this converts them first). It also
/// caps the request body, so every form mounted through here, present or future, is bounded.
pub fn secured<E: Endpoint + 'static>(ep: E) -> impl Endpoint {
    ep.around(|ep, req| async move {
        let result = match capped_body(req).await {
            Ok(req) => ep.call(req).await.map(IntoResponse::into_response),
            Err(e) => Err(e),
        };
        let mut resp = match result {
            Ok(r) => r.into_response(),
            // A body that is no urlencoded form (say, a cross-site `text/plain` post) carries
            // no readable CSRF token: the same 403, not poem's 415.
            Err(e) if e.is::<poem::error::ParseFormError>() => forbidden().into_response(),
            Err(e) => e.into_response(),
        };
        let h = resp.headers_mut();
        for (name, value) in [
            (
                "content-security-policy",
                "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "same-origin"),
            ("x-frame-options", "DENY"),
            // Pages show keys and tokens: never keep them in a cache.
            ("cache-control", "no-store"),
        ] {
            h.insert(name, poem::http::HeaderValue::from_static(value));
        }
        Ok(resp)
    })
}
