//! The pages over HTTP without a browser: cookies, CSRF fields, first-run setup as a signed-in
//! admin. Used by the settings and dashboard tests.

use poem::http::StatusCode;
use poem::test::TestResponse;

use super::TestApp;

pub const EMAIL: &str = "owner@example.com";
pub const PASSWORD: &str = "correct horse battery";

pub async fn text(resp: TestResponse) -> String {
    resp.0.into_body().into_string().await.unwrap()
}

pub fn set_cookies(resp: &TestResponse) -> Vec<String> {
    resp.0
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The value a response sets for cookie `name` (`None` when it does not set it).
pub fn cookie_value(resp: &TestResponse, name: &str) -> Option<String> {
    set_cookies(resp).iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (k, v) = first.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

pub fn location(resp: &TestResponse) -> String {
    resp.0
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The first hidden CSRF field of a page.
pub fn csrf_in(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("page has a CSRF field")
        + 19;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

impl TestApp {
    /// A page as the browser with `cookie` gets it.
    pub async fn page(&self, path: &str, cookie: &str) -> TestResponse {
        self.cli.get(path).header("cookie", cookie).send().await
    }

    /// A form posted with `cookie`.
    pub async fn submit(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> TestResponse {
        self.cli
            .post(path)
            .header("cookie", cookie)
            .form(&form)
            .send()
            .await
    }

    /// A form page that exists before sign-in: its pre-session CSRF cookie and token.
    pub async fn pre_form(&self, path: &str) -> (String, String) {
        let resp = self.page(path, "").await;
        resp.assert_status_is_ok();
        let cookie = format!(
            "trcker_csrf={}",
            cookie_value(&resp, "trcker_csrf").expect("form page sets the CSRF cookie")
        );
        let token = csrf_in(&text(resp).await);
        (cookie, token)
    }

    /// First-run setup through the page as [`EMAIL`]; returns the session cookie.
    pub async fn setup(&self) -> String {
        let (cookie, csrf) = self.pre_form("/setup").await;
        let token = self.state.setup_token.to_string();
        let resp = self
            .submit(
                "/setup",
                &cookie,
                &[
                    ("csrf", &csrf),
                    ("token", &token),
                    ("email", EMAIL),
                    ("password", PASSWORD),
                    ("password2", PASSWORD),
                ],
            )
            .await;
        resp.assert_status(StatusCode::SEE_OTHER);
        format!(
            "trcker_session={}",
            cookie_value(&resp, "trcker_session").unwrap()
        )
    }

    /// The session's CSRF token, read off a settings page.
    pub async fn csrf(&self, session: &str) -> String {
        let resp = self.page("/settings/brands", session).await;
        resp.assert_status_is_ok();
        csrf_in(&text(resp).await)
    }
}
