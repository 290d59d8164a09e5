//! First run: `/setup` creates the admin account, and only with the setup token that
//! `trcker serve` printed, so whoever reaches a fresh instance first cannot claim it.

use askama::Template;
use askama_web::WebTemplate;
use poem::http::StatusCode;
use poem::web::Form;
use poem::{Request, Response, handler};
use serde::Deserialize;

use super::argon2_gate;
use crate::domain::password::{check_password, hash_password, normalize_email};
use crate::store::admins;
use crate::web::page::{Layout, internal, redirect_with_flash, render};
use crate::web::session::{self, check_pre_csrf, pre_csrf, same_secret, with_pre_csrf};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SetupForm {
    csrf: String,
    token: String,
    email: String,
    password: String,
    password2: String,
}

#[derive(Default)]
struct Errors {
    token: Option<&'static str>,
    email: Option<&'static str>,
    password: Option<&'static str>,
    password2: Option<&'static str>,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/setup.html")]
struct SetupPage {
    l: Layout,
    csrf: String,
    email: String,
    errors: Errors,
}

async fn admin_exists(req: &Request) -> poem::Result<bool> {
    Ok(session::state(req)
        .db(|c| admins::count(c))
        .await
        .map_err(internal)?
        > 0)
}

#[handler]
pub async fn form(req: &Request) -> poem::Result<Response> {
    if admin_exists(req).await? {
        return Ok(redirect_with_flash(req, "/login", "already_set_up"));
    }
    let (csrf, new) = pre_csrf(req);
    let page = SetupPage {
        l: Layout::new(req, "Set up Trcker", "", None),
        csrf: csrf.clone(),
        email: String::new(),
        errors: Errors::default(),
    };
    Ok(with_pre_csrf(
        req,
        render(req, page, StatusCode::OK),
        &csrf,
        new,
    ))
}

#[handler]
pub async fn submit(req: &Request, Form(f): Form<SetupForm>) -> poem::Result<Response> {
    check_pre_csrf(req, &f.csrf)?;
    // Once an admin exists the token is spent, whatever was typed.
    if admin_exists(req).await? {
        return Ok(redirect_with_flash(req, "/login", "already_set_up"));
    }
    let state = session::state(req);
    let mut errors = Errors::default();
    if !same_secret(f.token.trim(), &state.setup_token) {
        errors.token =
            Some("This is not the setup token. Copy it from the output of `trcker serve`.");
    }
    let email = normalize_email(&f.email);
    errors.email = email.as_ref().err().copied();
    errors.password = check_password(&f.password).err();
    if errors.password.is_none() && f.password != f.password2 {
        errors.password2 = Some("The two passwords differ.");
    }
    let email = match email {
        Ok(e)
            if errors.token.is_none()
                && errors.password.is_none()
                && errors.password2.is_none() =>
        {
            e
        }
        _ => {
            let page = SetupPage {
                l: Layout::new(req, "Set up Trcker", "", None),
                csrf: f.csrf,
                email: f.email,
                errors,
            };
            return Ok(render(req, page, StatusCode::UNPROCESSABLE_ENTITY));
        }
    };
    let password = f.password;
    let hash = argon2_gate::run(&state.argon2, move || hash_password(&password)).await?;
    let created = state
        .db(move |c| admins::create_first(c, &email, &hash))
        .await
        .map_err(internal)?;
    let Some(admin_id) = created else {
        // Someone else finished setup a moment earlier.
        return Ok(redirect_with_flash(req, "/login", "already_set_up"));
    };
    let mut resp = redirect_with_flash(req, "/settings/brands", "setup_done");
    session::start(req, &mut resp, admin_id).await?;
    Ok(resp)
}
