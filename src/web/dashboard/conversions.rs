//! `/b/{brand}/conversions`: the list with its filters and bulk approve/reject, and one
//! conversion's page with the click it credits. Status changes go through the writer, as the
//! API's `PATCH` does, so the rollups (and every report) move with them at once.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use chrono_tz::Tz;
use poem::web::{Form, Path, Query};
use poem::{Request, Response, handler};
use serde::Deserialize;

use super::Ctx;
use super::range::{self, RangeQuery};
use crate::domain::conversion::{Conversion, HistoryEntry, MAX_REASON_CHARS, admin_actor};
use crate::domain::ids::BrandId;
use crate::domain::period::{Period, Preset};
use crate::domain::report::Range;
use crate::domain::status::ConversionStatus;
use crate::store::conversions::{self, Change, Filter};
use crate::store::{StoreError, StoreResult, clicks, offers, partners};
use crate::tracking::writer::WriteError;
use crate::web::format;
use crate::web::page::{Layout, internal, not_found, redirect_with_flash};
use crate::web::session::Admin;

/// Rows per page of the list.
const PER_PAGE: u32 = 50;

/// The list's query keys that select what it shows (and so survive a bulk change).
const KEPT: [&str; 8] = [
    "range",
    "from",
    "to",
    "status",
    "offer_id",
    "partner_id",
    "q",
    "before",
];

/// The list's filters as the browser sends them: text, read leniently (a value that names
/// nothing is no filter).
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct ListQuery {
    pub range: String,
    pub from: String,
    pub to: String,
    pub status: String,
    pub offer_id: String,
    pub partner_id: String,
    pub q: String,
    /// Show conversions older than this id (the "Older" link).
    pub before: String,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct Row {
    pub id: i64,
    pub occurred: String,
    pub offer: String,
    pub partner: String,
    pub event: String,
    pub amount: String,
    pub payout: String,
    pub status: &'static str,
    pub badge: &'static str,
    pub transaction_id: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/conversions.html")]
struct ListPage {
    l: Layout,
    brand_id: i64,
    zone: String,
    csrf: String,
    ranges: Vec<Choice>,
    from: String,
    to: String,
    range_error: Option<String>,
    statuses: Vec<Choice>,
    offers: Vec<Choice>,
    partners: Vec<Choice>,
    q: String,
    /// Any filter set (the empty state then says to clear them).
    filtered: bool,
    /// Past the first page.
    paged: bool,
    rows: Vec<Row>,
    /// The query string of this page (`?…` or empty), for the bulk form's action.
    here: String,
    /// The "Older" link's query string, when more rows follow.
    older: Option<String>,
    /// The first page with the same filters.
    newest: String,
}

/// How a status looks: its word and its badge class.
fn badge(s: ConversionStatus) -> (&'static str, &'static str) {
    match s {
        ConversionStatus::Approved => ("Approved", "on"),
        ConversionStatus::Pending => ("Pending", "warn"),
        ConversionStatus::Rejected => ("Rejected", "bad"),
        ConversionStatus::Reversed => ("Reversed", "bad"),
    }
}

fn or_dash(s: Option<&str>) -> String {
    s.filter(|s| !s.is_empty()).unwrap_or("—").to_string()
}

fn amount(c: &Conversion) -> String {
    c.amount
        .map_or_else(|| "—".into(), |a| format::money(a.0, &c.currency))
}

/// A query string of `pairs` with the empty values left out: `?a=1&b=2`, or "".
fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in pairs {
        if !v.is_empty() {
            ser.append_pair(k, v);
            any = true;
        }
    }
    if any {
        format!("?{}", ser.finish())
    } else {
        String::new()
    }
}

/// The list's own keys of a raw query string, encoded again: what a redirect back may carry.
fn kept_query(raw: Option<&str>) -> String {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .filter(|(k, _)| KEPT.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    query_string(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// `(id, name)` of offers or partners, newest first.
type Names = Vec<(i64, String)>;

/// Every offer and partner of the brand.
fn names(c: &crate::db::Conn, brand: BrandId) -> StoreResult<(Names, Names)> {
    let mut all_offers = Vec::new();
    let mut before = None;
    loop {
        let page = offers::list(c, brand, None, before, 500)?;
        before = page.rows.last().map(|o| o.id);
        all_offers.extend(page.rows.into_iter().map(|o| (o.id, o.name)));
        if !page.has_more {
            break;
        }
    }
    let mut all_partners = Vec::new();
    let mut before = None;
    loop {
        let page = partners::list(c, brand, None, before, 500)?;
        before = page.rows.last().map(|p| p.id);
        all_partners.extend(page.rows.into_iter().map(|p| (p.id, p.name)));
        if !page.has_more {
            break;
        }
    }
    Ok((all_offers, all_partners))
}

/// Occurred-at bounds of a period of local dates, both inclusive.
fn bounds(p: Period, tz: Tz) -> (i64, i64) {
    let r = Range::new(p.from, p.to, tz);
    (r.start, r.end - 1)
}

fn choices(items: &[(i64, String)], chosen: Option<i64>) -> Vec<Choice> {
    items
        .iter()
        .map(|(id, name)| Choice {
            value: id.to_string(),
            label: format!("{name} (#{id})"),
            selected: chosen == Some(*id),
        })
        .collect()
}

#[handler]
pub async fn list(
    req: &Request,
    admin: Admin,
    Path(brand_id): Path<i64>,
    Query(q): Query<ListQuery>,
) -> poem::Result<Response> {
    let ctx = Ctx::load(req, admin, brand_id, "Conversions", "conversions").await?;
    let tz = ctx.tz;
    // No range is all time; a range the form can't take is said so, and all time shown.
    let preset = Preset::parse(&q.range);
    let (period, range_error) = match preset {
        None => (None, None),
        Some(_) => {
            let rq = RangeQuery {
                range: q.range.clone(),
                from: q.from.clone(),
                to: q.to.clone(),
            };
            let chosen = range::choose(&rq, tz, Preset::Last7);
            match chosen.error {
                Some(e) => (None, Some(e)),
                None => (Some(chosen.period), None),
            }
        }
    };
    let status = q.status.parse::<ConversionStatus>().ok();
    let offer_id = q.offer_id.trim().parse::<i64>().ok();
    let partner_id = q.partner_id.trim().parse::<i64>().ok();
    let search = q.q.trim().to_string();
    let before = q.before.trim().parse::<i64>().ok();
    let (from, to) = match period {
        Some(p) => {
            let (a, b) = bounds(p, tz);
            (Some(a), Some(b))
        }
        None => (None, None),
    };
    let filter = Filter {
        offer_id,
        partner_id,
        status,
        search: (!search.is_empty()).then(|| search.clone()),
        from,
        to,
        ..Filter::default()
    };
    let brand = ctx.brand.id;
    let (page, all_offers, all_partners) = ctx
        .state(req)
        .db(move |c| {
            let page = conversions::list(c, brand, &filter, before, PER_PAGE)?;
            let (o, p) = names(c, brand)?;
            Ok((page, o, p))
        })
        .await
        .map_err(internal)?;
    let offer_names: HashMap<i64, &str> =
        all_offers.iter().map(|(i, n)| (*i, n.as_str())).collect();
    let partner_names: HashMap<i64, &str> =
        all_partners.iter().map(|(i, n)| (*i, n.as_str())).collect();
    let named = |m: &HashMap<i64, &str>, id: i64| {
        m.get(&id)
            .map_or_else(|| format!("#{id}"), |n| (*n).to_string())
    };
    let rows: Vec<Row> = page
        .rows
        .iter()
        .map(|c| {
            let (status, badge) = badge(c.status);
            Row {
                id: c.id,
                occurred: format::datetime(c.occurred_at, tz),
                offer: named(&offer_names, c.offer_id),
                partner: named(&partner_names, c.partner_id),
                event: c.event.clone(),
                amount: amount(c),
                payout: format::money(c.payout.0, &c.currency),
                status,
                badge,
                transaction_id: or_dash(c.transaction_id.as_deref()),
            }
        })
        .collect();

    // The query strings: the filters as taken, then with the page's position.
    let custom = preset == Some(Preset::Custom);
    let range_value = if preset.is_some() {
        q.range.as_str()
    } else {
        ""
    };
    // The date fields show the range's dates; only a custom range carries them in links.
    let (from_text, to_text) = match period {
        Some(p) => (p.from.to_string(), p.to.to_string()),
        None if custom => (q.from.trim().to_string(), q.to.trim().to_string()),
        None => (String::new(), String::new()),
    };
    let (from_query, to_query) = if custom {
        (from_text.as_str(), to_text.as_str())
    } else {
        ("", "")
    };
    let status_value = status.map_or("", |s| s.as_str());
    let (offer_value, partner_value) = (
        offer_id.map(|i| i.to_string()).unwrap_or_default(),
        partner_id.map(|i| i.to_string()).unwrap_or_default(),
    );
    let filters = [
        ("range", range_value),
        ("from", from_query),
        ("to", to_query),
        ("status", status_value),
        ("offer_id", offer_value.as_str()),
        ("partner_id", partner_value.as_str()),
        ("q", search.as_str()),
    ];
    let before_value = before.map(|b| b.to_string()).unwrap_or_default();
    let here = query_string(
        filters
            .iter()
            .copied()
            .chain([("before", before_value.as_str())]),
    );
    let older = match (page.has_more, page.rows.last()) {
        (true, Some(last)) => {
            let last = last.id.to_string();
            Some(query_string(
                filters.iter().copied().chain([("before", last.as_str())]),
            ))
        }
        _ => None,
    };
    let newest = query_string(filters.iter().copied());
    let filtered = filters.iter().any(|(_, v)| !v.is_empty());

    let mut ranges = vec![Choice {
        value: String::new(),
        label: "All time".into(),
        selected: preset.is_none() || range_error.is_some(),
    }];
    ranges.extend(Preset::ALL.into_iter().map(|p| Choice {
        value: p.as_str().into(),
        label: p.label().into(),
        selected: range_error.is_none() && preset == Some(p),
    }));
    let statuses = ConversionStatus::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str().into(),
            label: badge(*s).0.into(),
            selected: status == Some(*s),
        })
        .collect();
    let p = ListPage {
        brand_id,
        zone: tz.name().to_string(),
        csrf: ctx.admin.csrf.clone(),
        ranges,
        from: from_text,
        to: to_text,
        range_error,
        statuses,
        offers: choices(&all_offers, offer_id),
        partners: choices(&all_partners, partner_id),
        q: search,
        filtered,
        paged: before.is_some(),
        rows,
        here,
        older,
        newest,
        l: ctx.l,
    };
    Ok(super::render(req, brand, p))
}

/// What a button asks for: `approve`, `reject`, `reverse` (a refund or chargeback) or
/// `pending` (back to review).
fn action_status(action: &str) -> Option<ConversionStatus> {
    match action {
        "approve" => Some(ConversionStatus::Approved),
        "reject" => Some(ConversionStatus::Rejected),
        "reverse" => Some(ConversionStatus::Reversed),
        "pending" => Some(ConversionStatus::Pending),
        _ => None,
    }
}

fn bad_action() -> poem::Error {
    poem::Error::from_string(
        "Choose Approve, Reject, Reverse or Back to pending.",
        poem::http::StatusCode::BAD_REQUEST,
    )
}

/// A writer's refusal as a page: an id of no conversion of the brand is a 404, a change the
/// lifecycle doesn't allow a 422 that says which.
fn write_failed(e: WriteError) -> poem::Error {
    match e {
        WriteError::Store(StoreError::NotFound | StoreError::UnknownConversion(_)) => not_found(),
        WriteError::Store(StoreError::Transition(t)) => poem::Error::from_string(
            format!("{t}."),
            poem::http::StatusCode::UNPROCESSABLE_ENTITY,
        ),
        e => internal(e),
    }
}

/// A change made on these pages: the signed-in admin is its actor.
fn change(admin_email: &str, status: ConversionStatus, reason: Option<String>) -> Change {
    Change {
        status,
        reason,
        actor: admin_actor(admin_email),
    }
}

/// The reason typed with a change: trimmed, none when empty, refused past the API's bound.
fn reason(text: &str) -> poem::Result<Option<String>> {
    let r = text.trim();
    if r.chars().count() > MAX_REASON_CHARS {
        return Err(poem::Error::from_string(
            format!("A reason is at most {MAX_REASON_CHARS} characters."),
            poem::http::StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    Ok((!r.is_empty()).then(|| r.to_string()))
}

/// `POST /b/{brand}/conversions/bulk`: the selected conversions approved or rejected, all in
/// one transaction or none (an id that is not the brand's is a 404 and changes nothing).
/// The form is posted to the list's own query string, so the redirect goes back to it.
#[handler]
pub async fn bulk(
    req: &Request,
    admin: Admin,
    Path(brand_id): Path<i64>,
    body: Vec<u8>,
) -> poem::Result<Response> {
    let (mut csrf, mut action, mut ids) = (String::new(), String::new(), Vec::new());
    let mut bad_id = false;
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "action" => action = v.into_owned(),
            "id" => match v.trim().parse::<i64>() {
                Ok(id) => ids.push(id),
                Err(_) => bad_id = true,
            },
            _ => {}
        }
    }
    admin.check_csrf(&csrf)?;
    let actor_email = admin.email.clone();
    let ctx = Ctx::load(req, admin, brand_id, "Conversions", "conversions").await?;
    let back = format!("/b/{brand_id}/conversions{}", kept_query(req.uri().query()));
    if bad_id {
        return Err(not_found());
    }
    let status = action_status(&action).ok_or_else(bad_action)?;
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(redirect_with_flash(req, &back, "nothing_selected"));
    }
    ctx.state(req)
        .writer
        .submit_statuses(ctx.brand.id, ids, change(&actor_email, status, None))
        .await
        .map_err(write_failed)?;
    Ok(redirect_with_flash(req, &back, "conversions_changed"))
}

pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

pub struct ClickFacts {
    pub facts: Vec<Fact>,
    /// "Time from click to conversion".
    pub elapsed: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/conversion.html")]
struct DetailPage {
    l: Layout,
    brand_id: i64,
    id: i64,
    zone: String,
    csrf: String,
    status: &'static str,
    badge: &'static str,
    offer_id: i64,
    offer: String,
    partner_id: i64,
    partner: String,
    facts: Vec<Fact>,
    click_id: Option<String>,
    /// `None` with a click id: the click is no longer stored.
    click: Option<ClickFacts>,
    can_approve: bool,
    can_reject: bool,
    can_reverse: bool,
    can_pend: bool,
    /// Every change, oldest first.
    history: Vec<Step>,
}

/// One entry of the history as shown.
pub struct Step {
    pub at: String,
    pub from: String,
    pub to: &'static str,
    pub reason: String,
    pub actor: String,
}

fn step(h: HistoryEntry, tz: Tz) -> Step {
    Step {
        at: format::datetime(h.at, tz),
        from: h
            .from
            .map_or_else(|| "—".to_string(), |s| badge(s).0.to_string()),
        to: badge(h.to).0,
        reason: or_dash(h.reason.as_deref()),
        actor: h.actor,
    }
}

fn parse_id(text: &str) -> poem::Result<i64> {
    text.parse::<i64>().map_err(|_| not_found())
}

#[handler]
pub async fn detail(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, String)>,
) -> poem::Result<Response> {
    let id = parse_id(&id)?;
    let ctx = Ctx::load(req, admin, brand_id, "Conversion", "conversions").await?;
    let brand = ctx.brand.id;
    let found = ctx
        .state(req)
        .db(move |c| {
            let conv = match conversions::get(c, brand, id) {
                Ok(conv) => conv,
                Err(StoreError::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            };
            let click = match conv.click_id.as_deref() {
                Some(cid) => match clicks::get(c, brand, cid) {
                    Ok(click) => Some(click),
                    Err(StoreError::NotFound) => None,
                    Err(e) => return Err(e),
                },
                None => None,
            };
            let name = |r: StoreResult<String>| match r {
                Ok(n) => Ok(Some(n)),
                Err(StoreError::NotFound) => Ok(None),
                Err(e) => Err(e),
            };
            let offer = name(offers::get(c, brand, conv.offer_id).map(|o| o.name))?;
            let partner = name(partners::get(c, brand, conv.partner_id).map(|p| p.name))?;
            let history = conversions::history(c, brand, id)?;
            Ok(Some((conv, click, offer, partner, history)))
        })
        .await
        .map_err(internal)?;
    let Some((conv, click, offer, partner, history)) = found else {
        return Err(not_found());
    };
    let tz = ctx.tz;
    let zoned = |ts: i64| format!("{} ({})", format::datetime(ts, tz), tz.name());
    let sub = |s: &Option<String>| or_dash(s.as_deref());
    let mut facts = vec![
        Fact {
            label: "Event",
            value: conv.event.clone(),
        },
        Fact {
            label: "Amount",
            value: amount(&conv),
        },
        Fact {
            label: "Payout",
            value: format::money(conv.payout.0, &conv.currency),
        },
        Fact {
            label: "Currency",
            value: conv.currency.clone(),
        },
        Fact {
            label: "Transaction ID",
            value: or_dash(conv.transaction_id.as_deref()),
        },
        Fact {
            label: "Click ID",
            value: or_dash(conv.click_id.as_deref()),
        },
    ];
    for (label, s) in ["Sub 1", "Sub 2", "Sub 3", "Sub 4", "Sub 5"]
        .into_iter()
        .zip(&conv.subs)
    {
        facts.push(Fact {
            label,
            value: sub(s),
        });
    }
    facts.push(Fact {
        label: "Occurred",
        value: zoned(conv.occurred_at),
    });
    facts.push(Fact {
        label: "Recorded",
        value: zoned(conv.created_at),
    });
    facts.push(Fact {
        label: "Reason",
        value: or_dash(conv.reason.as_deref()),
    });
    facts.push(Fact {
        label: "Held until",
        value: conv.hold_until.map_or_else(|| "—".into(), zoned),
    });
    facts.push(Fact {
        label: "Payout rule",
        value: conv
            .payout_rule_id
            .map_or_else(|| "The offer's own payout".into(), |r| format!("Rule #{r}")),
    });
    facts.push(Fact {
        label: "Statement",
        value: conv
            .statement_id
            .map_or_else(|| "—".into(), |s| format!("#{s}")),
    });
    let click = click.map(|k| {
        let mut facts = vec![Fact {
            label: "Time",
            value: zoned(k.created_at),
        }];
        for (label, s) in ["Sub 1", "Sub 2", "Sub 3", "Sub 4", "Sub 5"]
            .into_iter()
            .zip(&k.subs)
        {
            facts.push(Fact {
                label,
                value: sub(s),
            });
        }
        facts.extend([
            Fact {
                label: "IP",
                value: or_dash(Some(&k.ip)),
            },
            Fact {
                label: "User agent",
                value: or_dash(Some(&k.user_agent)),
            },
            Fact {
                label: "Referer",
                value: or_dash(k.referer.as_deref()),
            },
            Fact {
                label: "Unique",
                value: if k.is_unique { "Yes" } else { "No" }.into(),
            },
        ]);
        let secs = conv.occurred_at - k.created_at;
        let elapsed = if secs < 0 {
            format!(
                "{} before the click (the postback's occurred_at is earlier)",
                format::duration(-secs)
            )
        } else {
            format::duration(secs)
        };
        ClickFacts { facts, elapsed }
    });
    let (status, badge) = badge(conv.status);
    let p = DetailPage {
        brand_id,
        id,
        zone: tz.name().to_string(),
        csrf: ctx.admin.csrf.clone(),
        status,
        badge,
        offer_id: conv.offer_id,
        offer: offer.unwrap_or_else(|| format!("#{}", conv.offer_id)),
        partner_id: conv.partner_id,
        partner: partner.unwrap_or_else(|| format!("#{}", conv.partner_id)),
        facts,
        click_id: conv.click_id.clone(),
        click,
        can_approve: conv.status.may_become(ConversionStatus::Approved),
        can_reject: conv.status.may_become(ConversionStatus::Rejected),
        can_reverse: conv.status.may_become(ConversionStatus::Reversed),
        can_pend: conv.status.may_become(ConversionStatus::Pending),
        history: history.into_iter().map(|h| step(h, tz)).collect(),
        l: ctx.l,
    };
    Ok(super::render(req, brand, p))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    pub csrf: String,
    pub action: String,
    pub reason: String,
}

/// `POST /b/{brand}/conversions/{id}/status`: approve or reject this one, through the writer.
#[handler]
pub async fn set_status(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, String)>,
    Form(f): Form<StatusForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let id = parse_id(&id)?;
    let actor_email = admin.email.clone();
    let ctx = Ctx::load(req, admin, brand_id, "Conversion", "conversions").await?;
    let status = action_status(&f.action).ok_or_else(bad_action)?;
    let reason = reason(&f.reason)?;
    ctx.state(req)
        .writer
        .submit_status(ctx.brand.id, id, change(&actor_email, status, reason))
        .await
        .map_err(write_failed)?;
    Ok(redirect_with_flash(
        req,
        &format!("/b/{brand_id}/conversions/{id}"),
        "conversions_changed",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_keep_only_the_lists_keys() {
        assert_eq!(query_string([("a", ""), ("b", "")]), "");
        assert_eq!(
            query_string([("q", "order 1&2"), ("status", "")]),
            "?q=order+1%262"
        );
        assert_eq!(
            kept_query(Some("status=pending&evil=x&q=a%0Db&before=9")),
            "?status=pending&q=a%0Db&before=9"
        );
        assert_eq!(kept_query(None), "");
    }
}
