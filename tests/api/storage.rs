//! The SQLite file: pragmas, migrations, integer money.

use serde_json::json;

use crate::common::{app, stored_clicks};

#[tokio::test]
async fn sqlite_file_is_wal_with_foreign_keys_and_integer_money() {
    let app = app();
    assert!(app.dir.path().join("trcker.db").exists());
    let conn = app.state.pool.get().unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let timeout: i64 = conn
        .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
        .unwrap();
    assert!(timeout >= 1000);
    drop(conn);

    let key = app.key("Acme");
    app.post(
        &key,
        "/api/v1/offers",
        json!({"name": "o", "destination_url": "https://a.example", "payout": 0.3}),
    )
    .await;
    let conn = app.state.pool.get().unwrap();
    let (ty, v): (String, i64) = conn
        .query_row(
            "SELECT typeof(payout_minor), payout_minor FROM offers",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((ty.as_str(), v), ("integer", 30));
}

#[test]
fn migrations_are_idempotent_and_refuse_a_newer_database() {
    let dir = tempfile::tempdir().unwrap();
    let pool = trcker::db::open(dir.path()).unwrap();
    let v1 = trcker::db::schema_version(&pool.get().unwrap()).unwrap();
    assert_eq!(
        v1,
        trcker::db::latest_version(),
        "every embedded migration is applied"
    );
    drop(pool);
    let pool = trcker::db::open(dir.path()).unwrap();
    assert_eq!(
        trcker::db::schema_version(&pool.get().unwrap()).unwrap(),
        v1,
        "re-running changes nothing"
    );
    pool.get()
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    drop(pool);
    let Err(err) = trcker::db::open(dir.path()) else {
        panic!("a newer schema is refused")
    };
    let err = err.to_string();
    assert!(err.contains("newer"), "{err}");
}

#[tokio::test]
async fn full_synchronous_mode_still_records_clicks() {
    let app = crate::common::app_with(|c| c.fsync_each_commit = true);
    let key = app.key("Acme");
    let (offer, partner) = app
        .offer_and_partner(&key, crate::common::offer_body("o"))
        .await;
    let id = app.click_id(&format!("/c/{offer}/{partner}")).await;
    assert_eq!(
        stored_clicks(&app.state.pool.get().unwrap())
            .iter()
            .filter(|c| c.id == id)
            .count(),
        1
    );
}
