//! CSV answers (API 1.1 "Exports"): whether a request asks for CSV (`Accept: text/csv` or
//! `format=csv`), the `200` response that documents `text/csv` beside the JSON, and the
//! streamed body an export is sent in, batch by batch. The tables themselves, the same for the
//! API and the dashboard, are `domain::export`.

use std::marker::PhantomData;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use poem::{Body, IntoResponse, Request, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{
    MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::{ApiResponse, Enum};

use crate::state::AppState;
use crate::store::StoreResult;

pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// The `format` query parameter.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum Format {
    /// JSON (the default).
    Json,
    /// CSV, the same as `Accept: text/csv`: every matching row, not paginated.
    Csv,
}

/// Whether to answer CSV: `format` when given, else the `Accept` header.
pub fn wants_csv(format: Option<Format>, req: &Request) -> bool {
    match format {
        Some(f) => f == Format::Csv,
        None => req
            .headers()
            .get_all(poem::http::header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(accept_prefers_csv),
    }
}

/// `text/csv` is listed with a non-zero quality, and JSON (`application/json`, or failing
/// that `application/*` or `*/*`) is not preferred to it. `text/*` alone is not a request
/// for CSV.
fn accept_prefers_csv(accept: &str) -> bool {
    let mut csv: Option<f32> = None;
    // Quality of JSON by the most specific range naming it: 2 exact, 1 `application/*`, 0 `*/*`.
    let mut json: Option<(u8, f32)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let specificity = match range.as_str() {
            "text/csv" => {
                csv = Some(csv.map_or(q, |c| c.max(q)));
                continue;
            }
            "application/json" => 2,
            "application/*" => 1,
            "*/*" => 0,
            _ => continue,
        };
        if json.is_none_or(|(s, _)| specificity > s) {
            json = Some((specificity, q));
        }
    }
    csv.is_some_and(|c| c > 0.0 && json.is_none_or(|(_, j)| c >= j))
}

/// What the spec says about an operation's CSV answer.
pub trait CsvDoc {
    /// The columns and how values are written, for the media type's description.
    const DESCRIPTION: &'static str;
    /// A short example table (the JSON example's rows, as CSV).
    fn example() -> String;
}

/// A CSV answer: a whole table in memory, or one streamed in batches.
pub struct Csv<D> {
    body: Body,
    filename: &'static str,
    doc: PhantomData<fn() -> D>,
}

impl<D> Csv<D> {
    pub fn bytes(filename: &'static str, table: Vec<u8>) -> Csv<D> {
        Csv {
            body: Body::from(table),
            filename,
            doc: PhantomData,
        }
    }

    /// A table sent as it is read: `first` (the header and the first batch, read before the
    /// answer starts, so a failing store answers with an error rather than a cut table), then
    /// `next(conn, cursor)` on the blocking pool, one batch at a time, for as long as it
    /// returns a cursor. A batch is read only once the one before has been taken by the
    /// connection, so a table of millions of rows holds one batch in memory; a client that
    /// goes away stops the reading. A store error mid-way ends the body with an error (the
    /// client sees a truncated transfer, never a short table that looks whole).
    pub fn streamed<K, F>(
        filename: &'static str,
        state: AppState,
        first: Vec<u8>,
        cursor: Option<K>,
        next: F,
    ) -> Csv<D>
    where
        K: Send + 'static,
        F: Fn(&mut crate::db::Conn, K) -> StoreResult<(Vec<u8>, Option<K>)> + Send + Sync + 'static,
    {
        let next = Arc::new(next);
        let head = futures_util::stream::iter([Ok(Bytes::from(first))]);
        let rest = futures_util::stream::unfold(cursor, move |cursor| {
            let (state, next) = (state.clone(), next.clone());
            async move {
                let k = cursor?;
                match state.db(move |c| next(c, k)).await {
                    Ok((batch, cursor)) => Some((Ok(Bytes::from(batch)), cursor)),
                    Err(e) => {
                        tracing::error!(error = %e, "CSV export cut short");
                        Some((Err(std::io::Error::other("CSV export cut short")), None))
                    }
                }
            }
        });
        Csv {
            body: Body::from_bytes_stream(head.chain(rest)),
            filename,
            doc: PhantomData,
        }
    }
}

/// An operation's 200: `P` (JSON) or a CSV table, both documented under one status.
pub enum Answer<P, D> {
    Json(P),
    Csv(Csv<D>),
}

impl<P: IntoResponse, D> IntoResponse for Answer<P, D> {
    fn into_response(self) -> Response {
        match self {
            Answer::Json(p) => p.into_response(),
            Answer::Csv(c) => Response::builder()
                .content_type(CSV_CONTENT_TYPE)
                .header(
                    "Content-Disposition",
                    format!("attachment; filename=\"{}\"", c.filename),
                )
                .body(c.body),
        }
    }
}

impl<P: Payload + IntoResponse, D: CsvDoc> ApiResponse for Answer<P, D> {
    fn meta() -> MetaResponses {
        let csv = MetaSchema {
            description: Some(D::DESCRIPTION),
            example: Some(serde_json::Value::String(D::example())),
            ..MetaSchema::new("string")
        };
        MetaResponses {
            responses: vec![MetaResponse {
                description: "JSON; or CSV (`text/csv`) when asked with `Accept: text/csv` or `format=csv`",
                status: Some(200),
                status_range: None,
                content: vec![
                    MetaMediaType {
                        content_type: P::CONTENT_TYPE,
                        schema: P::schema_ref(),
                    },
                    MetaMediaType {
                        content_type: CSV_CONTENT_TYPE,
                        schema: MetaSchemaRef::Inline(Box::new(csv)),
                    },
                ],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        P::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use super::accept_prefers_csv as csv;

    #[test]
    fn accept_asks_for_csv_only_when_it_prefers_it() {
        assert!(csv("text/csv"));
        assert!(csv("Text/CSV; charset=utf-8"));
        assert!(csv("text/csv, */*;q=0.1"));
        assert!(csv("application/json;q=0.5, text/csv"));
        assert!(csv("text/csv, application/json"));
        assert!(!csv("application/json, text/csv;q=0.5"));
        assert!(!csv("text/csv;q=0"));
        assert!(!csv("*/*"));
        assert!(!csv("text/*"));
        assert!(!csv("application/json"));
        assert!(!csv(""));
    }
}
