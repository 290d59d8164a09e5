//! The brand's dashboard over plain HTTP (no browser): every page, its numbers against the
//! API's, its forms with CSRF and their errors. In-process through `poem::test::TestClient`.

#[path = "../common/mod.rs"]
mod common;

mod conversions;
mod ledger;
mod offers;
mod overview;
mod partners;
mod reports;

use common::TestApp;
use common::pages::text;
use serde_json::json;

/// An app with a signed-in admin and one brand with an API key.
pub struct Dash {
    pub app: TestApp,
    pub session: String,
    pub key: String,
    pub brand: i64,
}

impl Dash {
    pub async fn new() -> Dash {
        let app = common::app();
        let session = app.setup().await;
        let key = app.key("Acme");
        let brand = app.count("SELECT id FROM brands WHERE name = 'Acme'");
        Dash {
            app,
            session,
            key,
            brand,
        }
    }

    /// A page of the brand (`path` after `/b/{brand}`), which must answer 200; its HTML.
    pub async fn html(&self, path: &str) -> String {
        let resp = self
            .app
            .page(&format!("/b/{}{path}", self.brand), &self.session)
            .await;
        resp.assert_status_is_ok();
        text(resp).await
    }

    /// An offer (CPA 12.50 USD) and a partner through the API.
    pub async fn offer_and_partner(&self, name: &str) -> (i64, i64) {
        self.app
            .offer_and_partner(&self.key, common::offer_body(name))
            .await
    }

    /// `n` clicks on the offer and partner, and `conversions` approved conversions of 10.00.
    pub async fn traffic(&self, offer: i64, partner: i64, n: usize, conversions: usize) {
        let mut ids = Vec::new();
        for _ in 0..n {
            ids.push(self.app.click_id(&format!("/c/{offer}/{partner}")).await);
        }
        for id in ids.iter().take(conversions) {
            let a = self
                .app
                .post(
                    &self.key,
                    "/api/v1/conversions",
                    json!({"click_id": id, "amount": 10.0, "status": "approved"}),
                )
                .await;
            assert_eq!(a.status, 201, "{}", a.json);
        }
    }
}
