//! The committed spec is what the binary serves.

#[test]
fn openapi_spec_is_committed() {
    let spec = trcker::spec_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &spec).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == spec,
        "openapi/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test openapi_spec_is_committed` (or `trcker openapi > openapi/openapi.json`)"
    );
}

#[test]
fn every_operation_is_documented() {
    let spec: serde_json::Value = serde_json::from_str(&trcker::spec_json()).unwrap();
    let mut n = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            n += 1;
            let at = format!("{method} {path}");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{at}: summary"
            );
            assert!(
                op["description"].as_str().is_some_and(|s| !s.is_empty()),
                "{at}: description"
            );
            for status in ["401", "404", "422", "429"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{at}: documents {status}"
                );
            }
        }
    }
    assert_eq!(n, 34, "every operation of the API");
    for schema in [
        "Offer",
        "CreateOffer",
        "UpdateOffer",
        "Partner",
        "CreatePartner",
        "UpdatePartner",
        "Conversion",
        "CreateConversion",
        "UpdateConversion",
        "ReportRow",
        "Brand",
        "UpdateBrand",
        "Click",
        "PayoutRule",
        "CreatePayoutRule",
        "EffectivePayout",
        "Cap",
        "CreateCap",
        "Statement",
        "StatementLine",
        "CreateStatement",
        "Error",
    ] {
        assert!(
            spec["components"]["schemas"][schema]["example"].is_object(),
            "{schema} has an example"
        );
    }
}

/// What client generators need (openapi-python-client refused `allOf: [$ref, {description}]`
/// and skipped `POST /offers`, `/partners` and `/conversions`; openapi-typescript typed it
/// `X & unknown`): every `allOf` is one `$ref`, its description and `nullable` beside it, and
/// JSON is keyed `application/json`. The served spec is this one, and so is the one `/docs`
/// embeds.
#[tokio::test]
async fn the_spec_is_plain_for_client_generators() {
    let text = trcker::spec_json();
    let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
    fn walk(v: &serde_json::Value, at: &str, all_of: &mut usize, media: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(members) = o.get("allOf") {
                    *all_of += 1;
                    let members = members.as_array().unwrap();
                    assert_eq!(members.len(), 1, "{at}: {v}");
                    let only = members[0].as_object().unwrap();
                    assert!(
                        only.len() == 1 && only["$ref"].is_string(),
                        "{at}: one $ref"
                    );
                }
                if let Some(serde_json::Value::Object(c)) = o.get("content") {
                    media.extend(c.keys().cloned());
                }
                for (k, v) in o {
                    walk(v, &format!("{at}/{k}"), all_of, media);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, at, all_of, media)),
            _ => {}
        }
    }
    let (mut all_of, mut media) = (0, Vec::new());
    walk(&spec, "", &mut all_of, &mut media);
    assert!(all_of >= 5, "the described enum fields: {all_of}");
    media.sort();
    media.dedup();
    assert_eq!(media, ["application/json", "text/csv; charset=utf-8"]);
    let field = &spec["components"]["schemas"]["CreateConversion"]["properties"]["status"];
    assert_eq!(
        *field,
        serde_json::json!({"description": "Default `approved`.",
            "allOf": [{"$ref": "#/components/schemas/ConversionStatus"}]})
    );
    let from = &spec["components"]["schemas"]["HistoryEntry"]["properties"]["from"];
    assert_eq!(from["nullable"], true, "nullable stays beside the $ref");

    let app = crate::common::app();
    let served = app.cli.get("/api/v1/openapi.json").send().await;
    served.assert_status_is_ok();
    let served = served.0.into_body().into_string().await.unwrap();
    assert_eq!(served + "\n", text, "served as committed");
    let docs = app.cli.get("/docs").send().await;
    let html = docs.0.into_body().into_string().await.unwrap();
    assert!(
        html.contains(text.trim_end()),
        "/docs embeds the served spec"
    );
}
