//! Wrong passwords are throttled; argon2 saturation answers 503.
use super::*;

#[tokio::test]
async fn wrong_passwords_are_throttled_per_account_and_per_ip_with_one_message() {
    let app = app();
    app.setup().await;
    trcker::admin_cli::create_admin(app.dir.path(), "second@example.com", PASSWORD).unwrap();

    let mut messages = Vec::new();
    for _ in 0..FREE_PER_ACCOUNT_AND_IP {
        let resp = app.login(EMAIL, "wrong password!").await;
        resp.assert_status(StatusCode::UNAUTHORIZED);
        assert!(cookie_value(&resp, "trcker_session").is_none());
        messages.push(text(resp).await);
    }
    // Waiting now: the right password is refused too, with the very same message.
    let resp = app.login(EMAIL, PASSWORD).await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    assert!(cookie_value(&resp, "trcker_session").is_none());
    messages.push(text(resp).await);
    // Unknown emails get it as well.
    let resp = app.login("nobody@example.com", PASSWORD).await;
    messages.push(text(resp).await);
    for m in &messages {
        assert!(m.contains(LOGIN_FAILED_MESSAGE), "{m}");
    }
    // The wait is on this account from this client, not on the client: another account signs
    // in.
    app.login("second@example.com", PASSWORD)
        .await
        .assert_status(StatusCode::SEE_OTHER);

    // Spraying over many accounts from one address makes the address wait.
    for i in 0..FREE_PER_IP {
        app.login(&format!("guess{i}@example.com"), "password123")
            .await;
    }
    let resp = app.login("second@example.com", PASSWORD).await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    assert!(cookie_value(&resp, "trcker_session").is_none());
}

/// Hold every argon2 slot, as a burst of sign-ins in progress would.
fn hold_argon2_slots(app: &App) -> Vec<trcker::work_gate::Slot> {
    let gate = &app.state.argon2;
    let held: Vec<_> = std::iter::from_fn(|| gate.try_enter()).collect();
    assert_eq!(held.len(), gate.limit());
    held
}

#[tokio::test]
async fn sign_in_and_setup_answer_503_while_argon2_is_saturated() {
    let app = app();
    assert!(
        app.state.argon2.limit() == std::thread::available_parallelism().map_or(2, |n| n.get()),
        "one slot per core by default"
    );
    // Setup hashes a password: refused while the slots are full, nothing created.
    let (cookie, csrf) = app.pre_form("/setup").await;
    let token = app.state.setup_token.to_string();
    let held = hold_argon2_slots(&app);
    let resp = app
        .post(
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
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(count(&app, "SELECT count(*) FROM admins"), 0);
    drop(held);
    app.setup().await;

    let held = hold_argon2_slots(&app);
    // More refusals than free failures: they must not count as failures.
    for _ in 0..2 * FREE_PER_ACCOUNT_AND_IP {
        let resp = app.login(EMAIL, PASSWORD).await;
        resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
        let h = resp.0.headers();
        assert!(h["retry-after"].to_str().unwrap().parse::<u32>().unwrap() > 0);
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(cookie_value(&resp, "trcker_session").is_none());
        assert!(text(resp).await.contains("The server is busy"));
    }
    drop(held);
    app.login(EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn correct_sign_ins_never_use_up_the_ip_budget() {
    let app = app();
    app.setup().await;
    for i in 0..FREE_PER_IP + 5 {
        let resp = app.login(EMAIL, PASSWORD).await;
        assert_eq!(resp.0.status(), StatusCode::SEE_OTHER, "sign-in {}", i + 1);
    }
}

#[tokio::test]
async fn strangers_failing_elsewhere_do_not_keep_the_admin_out() {
    let app = app_with(tempfile::tempdir().unwrap(), |c| c.trust_proxy = true);
    app.setup().await;
    let admin_ip = "203.0.113.1";
    let resp = app.login_from(admin_ip, "", EMAIL, PASSWORD).await;
    resp.assert_status(StatusCode::SEE_OTHER);
    let device = format!(
        "trcker_device={}",
        cookie_value(&resp, "trcker_device").expect("a sign-in sets the device cookie")
    );

    // One stranger: after the free failures, their address waits, even with the right
    // password; the admin's does not.
    let stranger = "198.51.100.7";
    for _ in 0..FREE_PER_ACCOUNT_AND_IP {
        app.login_from(stranger, "", EMAIL, "wrong password!")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    app.login_from(stranger, "", EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.login_from(admin_ip, "", EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::SEE_OTHER);

    // Many strangers, one failure each: the account-wide count slows new browsers at new
    // addresses, not the admin's address nor a browser with the device cookie.
    for i in 0..FREE_PER_ACCOUNT {
        app.login_from(
            &format!("10.1.{}.{}", i / 200, i % 200),
            "",
            EMAIL,
            "guess!guess!",
        )
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    }
    app.login_from("192.0.2.50", "", EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.login_from(admin_ip, "", EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    app.login_from("192.0.2.51", &device, EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_password_reset_by_the_cli_clears_the_accounts_backoff() {
    let app = app();
    app.setup().await;
    for _ in 0..FREE_PER_ACCOUNT_AND_IP {
        app.login(EMAIL, "wrong password!")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    // The refusal needs no argon2: it comes even while every argon2 slot is taken.
    let held = hold_argon2_slots(&app);
    app.login(EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    drop(held);
    // Another process's way of changing the password: only the database changes.
    trcker::admin_cli::reset_password(app.dir.path(), EMAIL, "a brand new passphrase").unwrap();
    app.login(EMAIL, "a brand new passphrase")
        .await
        .assert_status(StatusCode::SEE_OTHER);
}
