//! Sessions and CSRF. A session is a random id in an HttpOnly cookie; SQLite holds its hash,
//! its admin and its CSRF token, so sessions survive restarts. Forms that exist before
//! sign-in (setup, login) use a double-submit token: a random cookie echoed in the form.

use poem::http::HeaderValue;
use poem::http::header::SET_COOKIE;
use poem::{FromRequest, Request, RequestBody, Response};

use super::page::{internal, redirect};
use crate::domain::ids::{hash_secret, random_token};
use crate::domain::time::now;
use crate::state::AppState;
use crate::store::{admins, sessions};

pub const SESSION_COOKIE: &str = "trcker_session";
pub const PRE_CSRF_COOKIE: &str = "trcker_csrf";
pub const FLASH_COOKIE: &str = "trcker_flash";
/// A session unused this long is over.
pub const IDLE_SECS: i64 = 8 * 3600;
/// And one this old is over however busy, so a stolen cookie does not live for ever.
pub const MAX_AGE_SECS: i64 = 30 * 24 * 3600;
/// `last_seen` is written at most this often per session, not on every page view.
const TOUCH_EVERY: i64 = 60;

/// The body of forms that carry nothing but their CSRF token (sign out, revoke).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct CsrfOnly {
    pub csrf: String,
}

pub fn state(req: &Request) -> &AppState {
    req.data::<AppState>().expect("AppState is installed")
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Over https (directly, or as a trusted proxy reports it), or when the operator says so.
pub fn is_secure(req: &Request) -> bool {
    let config = &state(req).config;
    config.secure_cookies || crate::client_ip::is_https(req, config.trust_proxy)
}

/// Every cookie here is HttpOnly and SameSite=Lax; values are URL-safe tokens or fixed codes.
pub fn set_cookie(
    req: &Request,
    resp: &mut Response,
    name: &str,
    value: &str,
    max_age: Option<i64>,
) {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if is_secure(req) {
        c.push_str("; Secure");
    }
    if let Ok(v) = HeaderValue::from_str(&c) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
}

pub fn clear_cookie(req: &Request, resp: &mut Response, name: &str) {
    set_cookie(req, resp, name, "", Some(0));
}

/// Compare secrets without an early exit, so timing does not reveal a matching prefix.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The signed-in admin. Extracting it from a request without a live session answers with a
/// redirect: to /setup while no admin exists, else to /login.
pub struct Admin {
    pub id: i64,
    pub email: String,
    pub csrf: String,
    id_hash: Vec<u8>,
}

impl Admin {
    /// What identifies this browser session in memory (the hash of its id, never the id).
    pub fn session_key(&self) -> &[u8] {
        &self.id_hash
    }

    /// The token a state-changing form must carry; anything else is a 403.
    pub fn check_csrf(&self, sent: &str) -> poem::Result<()> {
        if !sent.is_empty() && same_secret(sent, &self.csrf) {
            Ok(())
        } else {
            Err(super::page::forbidden())
        }
    }

    pub fn signed_in(&self) -> super::page::SignedIn {
        super::page::SignedIn {
            email: self.email.clone(),
            csrf: self.csrf.clone(),
        }
    }

    pub async fn end(self, state: &AppState) -> poem::Result<()> {
        let h = self.id_hash;
        state
            .db(move |c| sessions::delete(c, &h))
            .await
            .map_err(internal)
    }
}

impl Admin {
    /// The admin whose live session this request carries, if any.
    pub async fn current(req: &Request) -> poem::Result<Option<Admin>> {
        let Some(token) = cookie(req, SESSION_COOKIE) else {
            return Ok(None);
        };
        let hash = hash_secret(token);
        let found = state(req)
            .db(move |c| {
                let s = sessions::find_live(c, &hash, now() - IDLE_SECS, now() - MAX_AGE_SECS)?;
                if let Some(s) = &s
                    && now() - s.last_seen >= TOUCH_EVERY
                {
                    sessions::touch(c, &hash)?;
                }
                Ok(s.map(|s| (s, hash)))
            })
            .await
            .map_err(internal)?;
        Ok(found.map(|(s, id_hash)| Admin {
            id: s.admin_id,
            email: s.email,
            csrf: s.csrf_token,
            id_hash,
        }))
    }
}

impl<'a> FromRequest<'a> for Admin {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        if let Some(admin) = Admin::current(req).await? {
            return Ok(admin);
        }
        let admins = state(req)
            .db(|c| admins::count(c))
            .await
            .map_err(internal)?;
        let to = if admins == 0 { "/setup" } else { "/login" };
        Err(poem::Error::from_response(redirect(to)))
    }
}

/// Start a session for `admin_id` and set its cookie on `resp`. Expired sessions are swept here,
/// at the one moment sessions are created.
pub async fn start(req: &Request, resp: &mut Response, admin_id: i64) -> poem::Result<()> {
    let token = random_token(32);
    let hash = hash_secret(&token);
    let csrf = random_token(32);
    state(req)
        .db(move |c| {
            sessions::purge_expired(c, now() - IDLE_SECS, now() - MAX_AGE_SECS)?;
            sessions::create(c, &hash, admin_id, &csrf)
        })
        .await
        .map_err(internal)?;
    set_cookie(req, resp, SESSION_COOKIE, &token, None);
    // The pre-sign-in token has done its job.
    clear_cookie(req, resp, PRE_CSRF_COOKIE);
    Ok(())
}

/// The double-submit token for the setup and login forms: the one in the cookie, or a new one
/// (`true`: the response must set it).
pub fn pre_csrf(req: &Request) -> (String, bool) {
    match cookie(req, PRE_CSRF_COOKIE).filter(|t| t.len() >= 32) {
        Some(t) => (t.to_string(), false),
        None => (random_token(32), true),
    }
}

pub fn check_pre_csrf(req: &Request, sent: &str) -> poem::Result<()> {
    match cookie(req, PRE_CSRF_COOKIE) {
        Some(c) if c.len() >= 32 && same_secret(c, sent) => Ok(()),
        _ => Err(super::page::forbidden()),
    }
}

/// Put the pre-sign-in token's cookie on a form page when it is new.
pub fn with_pre_csrf(req: &Request, mut resp: Response, token: &str, new: bool) -> Response {
    if new {
        set_cookie(req, &mut resp, PRE_CSRF_COOKIE, token, None);
    }
    resp
}
