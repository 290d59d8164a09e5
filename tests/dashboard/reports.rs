use poem::http::StatusCode;

use super::Dash;
use crate::common::pages::text;

impl Dash {
    async fn body(&self, path: &str) -> (StatusCode, String) {
        let resp = self
            .app
            .page(&format!("/b/{}{path}", self.brand), &self.session)
            .await;
        let status = resp.0.status();
        (status, text(resp).await)
    }
}

#[tokio::test]
async fn the_report_page_its_csv_and_the_api_agree() {
    let dash = Dash::new().await;
    let (shoes, p1) = dash.offer_and_partner("Shoes").await;
    let (hats, p2) = dash.offer_and_partner("Hats").await;
    dash.traffic(shoes, p1, 5, 2).await;
    dash.traffic(hats, p2, 9, 1).await;
    let today = chrono::Utc::now().date_naive().to_string();
    let params = format!("range=custom&from={today}&to={today}&group_by=day,offer&timezone=UTC");
    // The CSV of the page is byte for byte the API's CSV for the same parameters.
    let (status, page_csv) = dash.body(&format!("/reports.csv?{params}")).await;
    assert_eq!(status, StatusCode::OK);
    let api_csv = dash
        .app
        .cli
        .get(format!(
            "/api/v1/reports?from={today}&to={today}&group_by=day,offer&timezone=UTC&format=csv"
        ))
        .header("authorization", format!("Bearer {}", dash.key))
        .send()
        .await;
    let api_csv = text(api_csv).await;
    assert_eq!(page_csv, api_csv);
    assert_eq!(
        page_csv.lines().count(),
        3,
        "header and one row per offer: {page_csv}"
    );
    // The page shows the API's numbers for each row, and totals per currency.
    let api = dash
        .app
        .get(
            &dash.key,
            &format!("/api/v1/reports?from={today}&to={today}&group_by=day,offer&timezone=UTC"),
        )
        .await;
    let html = dash.html(&format!("/reports?{params}")).await;
    for row in api.json["data"].as_array().unwrap() {
        let name = if row["offer_id"] == shoes {
            "Shoes"
        } else {
            "Hats"
        };
        let cells = format!(
            "<a href=\"/b/{}/offers/{}\">{name}</a></td><td>USD</td><td class=\"num\">{}</td>",
            dash.brand, row["offer_id"], row["clicks"]
        );
        assert!(html.contains(&cells), "{cells} in {html}");
    }
    assert!(
        html.contains(
            "<tr class=\"total\"><td>Total</td><td></td><td>USD</td><td class=\"num\">14</td>"
        ),
        "{html}"
    );
    assert!(
        html.contains("<td class=\"num\">$37.50</td>"),
        "payout total 3 × 12.50"
    );
    // Sorted by clicks, descending: Hats first, on the page and in the CSV link.
    let sorted = format!("{params}&sort=clicks&dir=desc");
    let html = dash.html(&format!("/reports?{sorted}")).await;
    let at = |name: &str, id: i64| {
        html.find(&format!("/offers/{id}\">{name}</a>"))
            .expect("a table row")
    };
    assert!(at("Hats", hats) < at("Shoes", shoes));
    assert!(html.contains("aria-sort=\"descending\""));
    let (_, csv) = dash.body(&format!("/reports.csv?{sorted}")).await;
    let second: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(second[4], hats.to_string(), "{csv}");
    // The form's own selects give the same table as the API's comma list.
    let html2 = dash
        .html(&format!(
            "/reports?range=custom&from={today}&to={today}&g1=day&g2=offer&timezone=UTC"
        ))
        .await;
    assert!(html2.contains(&format!("/offers/{shoes}\">Shoes</a>")));
    assert!(html2.contains(&format!("/offers/{hats}\">Hats</a>")));
}

#[tokio::test]
async fn bad_report_parameters_say_what_is_wrong() {
    let dash = Dash::new().await;
    let (status, html) = dash.body("/reports?group_by=day,week").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("at most one of hour, day, week, month"),
        "{html}"
    );
    let (status, html) = dash.body("/reports?group_by=day&timezone=Mars/Base").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Unknown time zone"), "{html}");
    let (status, _) = dash.body("/reports.csv?group_by=nope").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
