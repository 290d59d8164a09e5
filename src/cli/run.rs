//! What the long-running maintenance commands print around the library's work: a progress
//! line on stderr and a summary, so `main` stays a dispatch.

use std::time::Instant;

/// `trcker seed`: run with a progress line on stderr and a summary on stdout.
pub fn seed(args: super::SeedArgs) -> anyhow::Result<()> {
    if args.conversions > args.clicks {
        anyhow::bail!("--conversions must not exceed --clicks");
    }
    let dir = args.data_dir.resolve();
    let plan = crate::seed::Plan {
        brand: args.brand,
        clicks: args.clicks,
        conversions: args.conversions,
        days: args.days,
        offers: args.offers.clamp(1, 1000),
        partners: args.partners.clamp(1, 10_000),
        end: crate::domain::time::now(),
        sub_cardinality: args.sub_cardinality,
    };
    let started = std::time::Instant::now();
    let seeded = crate::seed::run(&dir, &plan, |clicks, conversions| {
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        eprint!(
            "\rseeding {}: {clicks}/{} clicks, {conversions} conversions, {:.0} clicks/s   ",
            dir.display(),
            plan.clicks,
            clicks as f64 / secs
        );
    })?;
    eprintln!();
    println!(
        "seeded brand {:?} (id {}): {} clicks, {} conversions, offers {:?}, partners {}..{} in {:.1}s",
        plan.brand,
        seeded.brand_id,
        seeded.clicks,
        seeded.conversions,
        seeded.offer_ids,
        seeded.partner_ids.first().copied().unwrap_or(0),
        seeded.partner_ids.last().copied().unwrap_or(0),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn backup(args: super::BackupArgs) -> anyhow::Result<()> {
    let dir = args.data_dir.resolve();
    let started = Instant::now();
    let bytes = crate::backup::backup(&dir, &args.to, args.force, |done, total| {
        eprintln!(
            "backup: {}% ({} of {})",
            (done * 100).checked_div(total).unwrap_or(100),
            size(done),
            size(total)
        );
    })?;
    eprintln!(
        "backup: done, {} in {:.1} s: {}",
        size(bytes),
        started.elapsed().as_secs_f64(),
        args.to.display()
    );
    Ok(())
}

pub fn restore(args: super::RestoreArgs) -> anyhow::Result<()> {
    let dir = args.data_dir.resolve();
    let kept = crate::backup::restore(&dir, &args.from)?;
    eprintln!(
        "restored {} into {}",
        args.from.display(),
        dir.join(crate::db::DB_FILE).display()
    );
    if let Some(k) = kept {
        eprintln!("the previous database is kept as {}", k.display());
    }
    Ok(())
}

fn size(bytes: u64) -> String {
    const GB: f64 = 1e9;
    const MB: f64 = 1e6;
    let b = bytes as f64;
    if b >= GB {
        format!("{:.1} GB", b / GB)
    } else {
        format!("{:.1} MB", b / MB)
    }
}
