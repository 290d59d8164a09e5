//! The admin CLI and the setup token `serve` prints.
use super::*;

#[tokio::test]
async fn admin_cli_creates_admins_and_resets_passwords_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let d = d.as_str();
    let out = trcker(
        &[
            "admin",
            "create",
            "--email",
            "Ops@Example.com",
            "--data-dir",
            d,
        ],
        "too short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10"));
    let out = trcker(
        &[
            "admin",
            "create",
            "--email",
            "Ops@Example.com",
            "--data-dir",
            d,
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains(PASSWORD));
    let out = trcker(
        &[
            "admin",
            "create",
            "--email",
            "ops@example.com",
            "--data-dir",
            d,
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(!out.status.success(), "duplicate admin");

    let app = app_with(dir, |_| {});
    // With an admin made headless, setup is closed.
    assert_eq!(location(&app.get("/setup", "").await), "/login");
    let resp = app.login("ops@example.com", PASSWORD).await;
    resp.assert_status(StatusCode::SEE_OTHER);
    let session = format!(
        "trcker_session={}",
        cookie_value(&resp, "trcker_session").unwrap()
    );
    app.get("/settings/brands", &session)
        .await
        .assert_status_is_ok();

    let out = trcker(
        &[
            "admin",
            "reset-password",
            "--email",
            "ops@example.com",
            "--data-dir",
            d,
        ],
        "a brand new passphrase\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        location(&app.get("/settings/brands", &session).await),
        "/login",
        "sessions end"
    );
    app.login("ops@example.com", PASSWORD)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.login("ops@example.com", "a brand new passphrase")
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let out = trcker(
        &[
            "admin",
            "reset-password",
            "--email",
            "nobody@example.com",
            "--data-dir",
            d,
        ],
        "whatever password\n",
    );
    assert!(!out.status.success());
}

#[tokio::test]
async fn serve_prints_a_setup_token_that_works_until_an_admin_exists() {
    let dir = tempfile::tempdir().unwrap();
    let start = || common::binary::serve(dir.path()).start();
    let server = start();
    let base = server.base.clone();
    let line = server
        .wait_for_line(|l| !l.contains("listening on"))
        .expect("a line after the start-up line");
    let token = line.rsplit(' ').next().unwrap().to_string();
    assert!(line.contains("/setup") && token.len() == 32, "{line}");

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(format!("{base}/setup")).send().await.unwrap();
    let pre = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = csrf_in(&page.text().await.unwrap());
    let resp = http
        .post(format!("{base}/setup"))
        .header("cookie", &pre)
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", &token),
            ("email", EMAIL),
            ("password", PASSWORD),
            ("password2", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/settings/brands");
    drop(server);

    // An admin exists: the next start prints no token.
    let mut server = start();
    // Give it time to print everything it would print after the first line.
    std::thread::sleep(std::time::Duration::from_millis(500));
    server.kill9();
    let rest = server.stdout();
    assert!(rest.iter().all(|l| !l.contains("setup token")), "{rest:?}");
}
