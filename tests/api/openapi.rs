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
