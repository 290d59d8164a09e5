//! Sign-in and sign-out. Every failure, throttled or not, gets the same message, so the page
//! tells nobody which emails have accounts or when a wait is on.

use askama::Template;
use askama_web::WebTemplate;
use poem::http::StatusCode;
use poem::web::Form;
use poem::{Request, Response, handler};
use serde::Deserialize;

use super::argon2_gate;
use super::device::{DEVICE_COOKIE, DEVICE_MAX_AGE_SECS};
use super::throttle::account_key;
use crate::domain::password::{burn_verify, normalize_email, verify_password};
use crate::domain::time::now;
use crate::store::admins;
use crate::web::page::{self, Layout, internal, redirect, redirect_with_flash, render};
use crate::web::session::{
    self, Admin, CsrfOnly, SESSION_COOKIE, check_pre_csrf, pre_csrf, with_pre_csrf,
};

pub const FAILED: &str = "Wrong email or password. After several failed attempts, each further attempt has to wait longer, up to 15 minutes.";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    csrf: String,
    email: String,
    password: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/login.html")]
struct LoginPage {
    l: Layout,
    csrf: String,
    email: String,
    error: Option<&'static str>,
}

/// The sign-in page: the form's CSRF token, the email typed so far, the error to show.
fn page(req: &Request, csrf: String, email: String, error: Option<&'static str>) -> LoginPage {
    LoginPage {
        l: Layout::new(req, "Sign in", "", None),
        csrf,
        email,
        error,
    }
}

#[handler]
pub async fn form(req: &Request) -> poem::Result<Response> {
    let state = session::state(req);
    if state.db(|c| admins::count(c)).await.map_err(internal)? == 0 {
        return Ok(redirect("/setup"));
    }
    if Admin::current(req).await?.is_some() {
        return Ok(redirect("/settings"));
    }
    let (csrf, new) = pre_csrf(req);
    let resp = render(
        req,
        page(req, csrf.clone(), String::new(), None),
        StatusCode::OK,
    );
    Ok(with_pre_csrf(req, resp, &csrf, new))
}

#[handler]
pub async fn submit(req: &Request, Form(f): Form<LoginForm>) -> poem::Result<Response> {
    check_pre_csrf(req, &f.csrf)?;
    let state = session::state(req);
    // The per-IP throttle's key: the socket's address, or with --trust-proxy the last
    // X-Forwarded-For entry (the one the proxy appended; earlier ones can be forged).
    let ip = crate::client_ip::client_ip(req, state.config.trust_proxy);
    let ip = if ip.is_empty() {
        "unknown".to_string()
    } else {
        ip
    };
    let email = normalize_email(&f.email).unwrap_or_default();
    let failed = |f: LoginForm| {
        render(
            req,
            page(req, f.csrf, f.email, Some(FAILED)),
            StatusCode::UNAUTHORIZED,
        )
    };
    let lookup = email.clone();
    let found = state
        .db(move |c| admins::find_by_email(c, &lookup))
        .await
        .map_err(internal)?;
    let settings = super::state(req);
    let account = account_key(&email, found.as_ref().map(|a| a.password_hash.as_str()));
    let known_device = session::cookie(req, DEVICE_COOKIE)
        .is_some_and(|c| settings.device_key.vouches_for(&email, c));
    // Checked and counted before the (slow) password check, so parallel guesses can't outrun
    // the count; a throttled attempt costs no argon2 at all.
    let Some(attempt) = settings.throttle.attempt(account, &ip, known_device, now()) else {
        return Ok(failed(f));
    };
    let Some(slot) = state.argon2.try_enter() else {
        settings.throttle.not_tried(attempt);
        return Err(page::busy());
    };
    // argon2 takes a CPU for a while: run it off the async workers and without holding one of
    // the pool's database connections.
    let password = f.password.clone();
    let admin_id = argon2_gate::run_in(slot, move || match found {
        Some(a) if verify_password(&password, &a.password_hash) => Some(a.id),
        Some(_) => None,
        None => {
            burn_verify(&password);
            None
        }
    })
    .await?;
    let Some(admin_id) = admin_id else {
        return Ok(failed(f));
    };
    settings.throttle.succeeded(attempt);
    let mut resp = redirect_with_flash(req, "/settings", "signed_in");
    session::start(req, &mut resp, admin_id).await?;
    let device = settings.device_key.issue(&email);
    session::set_cookie(
        req,
        &mut resp,
        DEVICE_COOKIE,
        &device,
        Some(DEVICE_MAX_AGE_SECS),
    );
    Ok(resp)
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/logout.html")]
struct LogoutPage {
    l: Layout,
}

/// A page with the sign-out button, for whoever types /logout (sign-out itself is a POST).
#[handler]
pub async fn confirm(req: &Request, admin: Admin) -> Response {
    let l = Layout::new(req, "Sign out", "", Some(admin.signed_in()));
    render(req, LogoutPage { l }, StatusCode::OK)
}

#[handler]
pub async fn submit_logout(
    req: &Request,
    admin: Admin,
    Form(f): Form<CsrfOnly>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    admin.end(session::state(req)).await?;
    let mut resp = redirect_with_flash(req, "/login", "signed_out");
    session::clear_cookie(req, &mut resp, SESSION_COOKIE);
    Ok(resp)
}
