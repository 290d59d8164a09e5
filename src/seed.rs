//! `trcker seed`: fill a data dir with synthetic clicks and conversions (for benchmarks and
//! demos), fast: time-ordered ids, raw rows and rollups together in big transactions.

use crate::domain::ids::BrandId;
use crate::domain::offer::{OfferDraft, OfferInput};
use crate::domain::partner::{PartnerDraft, PartnerInput};
use crate::domain::payout::payout;
use crate::domain::status::{ConversionStatus, OfferStatus, PartnerStatus, PayoutType};
use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, params};

use crate::db::click_layout;
use crate::domain::click::ClickRow;
use crate::domain::conversion::Conversion;
use crate::domain::money::Money;
use crate::store::brands;
use crate::store::offers;
use crate::store::partners;
use crate::store::rollups::Pending;
use crate::tracking::unique::UniqueWindow;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Plan {
    pub brand: String,
    pub clicks: u64,
    pub conversions: u64,
    pub days: i64,
    pub offers: usize,
    pub partners: usize,
    /// The newest click's time; the rest spread evenly over the `days` before it.
    pub end: i64,
    /// Distinct `sub1` values (`s0`, `s1`, ...: the visitor's number modulo this); 0: one of
    /// its own per click (`c<n>`).
    pub sub_cardinality: u64,
}

/// What was created.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub brand_id: i64,
    pub offer_ids: Vec<i64>,
    pub partner_ids: Vec<i64>,
    pub clicks: u64,
    pub conversions: u64,
}

/// Rows per transaction: big enough that commits cost nothing, small enough to show progress.
const CHUNK: u64 = 200_000;

const USER_AGENTS: [&str; 6] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
];

/// splitmix64: plenty for synthetic data, and no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Clone)]
struct Offer {
    id: i64,
    currency: Arc<str>,
    payout_type: PayoutType,
    payout: Money,
}

fn create_catalog(conn: &Connection, plan: &Plan, brand_id: BrandId) -> anyhow::Result<Vec<Offer>> {
    const CURRENCIES: [&str; 4] = ["USD", "USD", "EUR", "GBP"];
    let mut out = Vec::new();
    for k in 0..plan.offers.max(1) {
        let revshare = k % 2 == 1;
        let draft = OfferDraft {
            name: format!("Seed offer {}", k + 1),
            destination_url: "https://shop.example/landing?click={click_id}".into(),
            payout_type: if revshare {
                PayoutType::Revshare
            } else {
                PayoutType::Cpa
            },
            payout: Money(if revshare {
                1_000
            } else {
                500 + 100 * k as i64
            }),
            currency: CURRENCIES[k % CURRENCIES.len()].into(),
            hold_days: 0,
            status: OfferStatus::Active,
        };
        // The same rules as the API's: a seeded offer is one the API could have made.
        let f = OfferInput::try_from(draft).map_err(anyhow::Error::msg)?;
        let o = offers::create(conn, brand_id, &f)?;
        out.push(Offer {
            id: o.id,
            currency: Arc::from(o.currency.as_str()),
            payout_type: o.payout_type,
            payout: o.payout,
        });
    }
    Ok(out)
}

fn create_partners(conn: &Connection, plan: &Plan, brand_id: BrandId) -> anyhow::Result<Vec<i64>> {
    // Emails are unique per brand: a second seed of the same brand gets new partners.
    let run = crate::domain::ids::random_token(4);
    (0..plan.partners.max(1))
        .map(|k| {
            let f = PartnerInput::try_from(PartnerDraft {
                name: format!("Seed partner {}", k + 1),
                email: format!("partner{}.{run}@seed.example", k + 1),
                status: PartnerStatus::Active,
            })
            .map_err(anyhow::Error::msg)?;
            Ok(partners::create(conn, brand_id, &f)?.id)
        })
        .collect()
}

/// Seed `data_dir` (created and migrated if needed); `progress` hears (clicks, conversions)
/// written so far after every transaction.
pub fn run(
    data_dir: &Path,
    plan: &Plan,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<Seeded> {
    drop(crate::db::open(data_dir)?);
    let mut conn = crate::db::connect(data_dir)?;
    // A seed is rebuilt, not recovered: trade durability for speed while it runs.
    conn.execute_batch(
        "PRAGMA synchronous = OFF; PRAGMA cache_size = -131072; PRAGMA temp_store = MEMORY;",
    )?;
    let (brand, _) = brands::find_or_create(&conn, &plan.brand)?;
    let offers = create_catalog(&conn, plan, brand.id)?;
    let partner_ids = create_partners(&conn, plan, brand.id)?;

    let key = crate::store::clicks::visitor_key(&conn)?;
    let mut clicks = Clicks::new(plan, offers.clone(), partner_ids.clone(), key);
    let mut texts = crate::store::clicks::Texts::default();
    let txn_run = crate::domain::ids::random_token(6);
    let n = plan.clicks;
    // Every `every`-th click converts, so conversions spread like the clicks do;
    // every <= clicks / conversions, so the clicks always yield all the conversions asked for.
    let every = n.checked_div(plan.conversions).unwrap_or(u64::MAX).max(1);
    let (mut done, mut converted) = (0u64, 0u64);
    let mut rollups = Pending::default();
    let mut subs = crate::store::sub_rollups::Writer::default();
    // The seed writes the past: on a fresh store, sealing starts where its clicks do.
    subs.start_seals_at(&conn, plan.end - plan.days.max(1) * 86_400)?;
    while done < n {
        let tx = conn.transaction()?;
        {
            let mut ins_conv = tx.prepare_cached(
                "INSERT INTO conversions (brand_id, click_id, offer_id, partner_id, event,
                 amount_minor, payout_minor, currency, status, transaction_id, sub1, sub2, sub3,
                 sub4, sub5, occurred_at, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'purchase', ?5, ?6, ?7, ?8, ?9, ?10, NULL, NULL, NULL,
                 NULL, ?11, ?11, ?11)",
            )?;
            let stop = (done + CHUNK).min(n);
            while done < stop {
                let c = clicks.next(done, plan.sub_cardinality);
                // The server's own layout code: a seeded click is stored as a served one is.
                click_layout::insert(
                    &tx,
                    &mut texts,
                    &click_layout::Parts {
                        id: &c.id,
                        brand_id: brand.id.get(),
                        offer_id: c.offer.id,
                        partner_id: c.partner,
                        created_at: c.ts,
                        subs: [Some(&c.sub1), None, None, None, None],
                        ip: &c.ip,
                        user_agent: c.ua,
                        referer: None,
                        is_unique: c.is_unique,
                        visitor: c.visitor,
                    },
                )?;
                rollups.click(&c.row(brand.id));
                done += 1;
                if done % every == 0 && converted < plan.conversions {
                    converted += 1;
                    let conv = clicks.conversion(&c, brand.id, plan.end)?;
                    ins_conv.execute(params![
                        brand.id,
                        c.id,
                        c.offer.id,
                        c.partner,
                        conv.amount.map(|a| a.0),
                        conv.payout.0,
                        &*c.offer.currency,
                        conv.status,
                        format!("seed-{txn_run}-{converted}"),
                        c.sub1,
                        conv.occurred_at
                    ])?;
                    rollups.conversion(&conv, 1);
                }
            }
        }
        rollups.flush(&tx, &mut subs)?;
        tx.commit()?;
        progress(done, converted);
    }
    // Every block that has ended, as the server's writer would seal them between batches.
    subs.seal_all(&mut conn, crate::domain::time::now())?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(Seeded {
        brand_id: brand.id.get(),
        offer_ids: offers.iter().map(|o| o.id).collect(),
        partner_ids,
        clicks: done,
        conversions: converted,
    })
}

/// One generated click.
struct SeedClick {
    id: String,
    ts: i64,
    offer: Offer,
    partner: i64,
    ip: String,
    ua: &'static str,
    sub1: String,
    is_unique: bool,
    visitor: i64,
}

impl SeedClick {
    /// What the rollups need of it.
    fn row(&self, brand_id: BrandId) -> ClickRow {
        ClickRow {
            id: String::new(),
            brand_id,
            offer_id: self.offer.id,
            partner_id: self.partner,
            currency: self.offer.currency.clone(),
            created_at: self.ts,
            subs: [Some(self.sub1.clone()), None, None, None, None],
            ip: String::new(),
            user_agent: String::new(),
            referer: None,
            is_unique: self.is_unique,
            visitor: self.visitor,
        }
    }
}

/// Clicks spread evenly over the plan's days, with ids in time order, from 300k visitors
/// (IP and user agent) and a unique-click window like the server's.
struct Clicks {
    rng: Rng,
    offers: Vec<Offer>,
    partner_ids: Vec<i64>,
    unique: UniqueWindow,
    start_ms: u128,
    span_ms: u128,
    total: u64,
    prev: ulid::Ulid,
}

impl Clicks {
    fn new(plan: &Plan, offers: Vec<Offer>, partner_ids: Vec<i64>, key: [u8; 16]) -> Clicks {
        let span_ms = (plan.days.max(1) * 86_400 * 1000) as u128;
        Clicks {
            rng: Rng(u64::from_le_bytes(crate::domain::random::bytes::<8>())),
            offers,
            partner_ids,
            unique: UniqueWindow::with_key(4_000_000, key),
            start_ms: (plan.end * 1000) as u128 - span_ms,
            span_ms,
            total: plan.clicks,
            prev: ulid::Ulid::nil(),
        }
    }

    /// The `i`-th click of the plan.
    fn next(&mut self, i: u64, sub_cardinality: u64) -> SeedClick {
        let ms = self.start_ms + self.span_ms * u128::from(i) / u128::from(self.total);
        let mut id = ulid::Ulid::from_parts(ms as u64, u128::from(self.rng.next()) << 16);
        if id <= self.prev {
            id = self.prev.increment().unwrap_or(id);
        }
        self.prev = id;
        let ts = (ms / 1000) as i64;
        let offer = self.offers[self.rng.below(self.offers.len() as u64) as usize].clone();
        let partner = self.partner_ids[self.rng.below(self.partner_ids.len() as u64) as usize];
        let who = self.rng.below(300_000);
        let ip = format!("10.{}.{}.{}", who >> 16, (who >> 8) & 255, who & 255);
        let ua = USER_AGENTS[(who % USER_AGENTS.len() as u64) as usize];
        let visitor = self.unique.visitor(offer.id, partner, &ip, ua);
        let is_unique = self.unique.visit_as(visitor, ts);
        SeedClick {
            id: id.to_string(),
            ts,
            offer,
            partner,
            ip,
            ua,
            sub1: match sub_cardinality {
                0 => format!("c{i}"),
                n => format!("s{}", who % n),
            },
            is_unique,
            visitor,
        }
    }

    /// A conversion of click `c` within the hour after it (and not after `end`): mostly
    /// approved, some pending, a few rejected.
    fn conversion(
        &mut self,
        c: &SeedClick,
        brand_id: BrandId,
        end: i64,
    ) -> anyhow::Result<Conversion> {
        let amount = Money(1_000 + self.rng.below(19_000) as i64);
        // Every seeded conversion has an amount, so no offer refuses it.
        let payout = payout(c.offer.payout_type, c.offer.payout, Some(amount))?;
        let status = match self.rng.below(20) {
            0 => ConversionStatus::Rejected,
            1..=3 => ConversionStatus::Pending,
            _ => ConversionStatus::Approved,
        };
        let occurred_at = (c.ts + self.rng.below(3_600) as i64).min(end);
        Ok(Conversion {
            id: 0,
            brand_id,
            click_id: None,
            offer_id: c.offer.id,
            partner_id: c.partner,
            event: String::new(),
            amount: Some(amount),
            payout,
            currency: c.offer.currency.to_string(),
            status,
            transaction_id: None,
            subs: [Some(c.sub1.clone()), None, None, None, None],
            occurred_at,
            created_at: occurred_at,
            reason: None,
            updated_at: occurred_at,
            hold_until: None,
            payout_rule_id: None,
            statement_id: None,
        })
    }
}
