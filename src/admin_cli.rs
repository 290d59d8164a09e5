//! What the CLI's management commands do to the database (no server needed; safe beside one).

use std::path::Path;

use crate::store::{brands, keys};

pub struct CreatedKey {
    pub key: String,
    pub brand_created: bool,
}

pub fn create_key(data_dir: &Path, brand: &str, name: &str) -> anyhow::Result<CreatedKey> {
    let brand = brand.trim();
    if brand.is_empty() || brand.chars().count() > 200 {
        anyhow::bail!("--brand must be 1-200 characters");
    }
    let pool = crate::db::open(data_dir)?;
    let conn = pool.get()?;
    let (b, brand_created) = brands::find_or_create(&conn, brand)?;
    let (_, key) = keys::create(&conn, b.id, name)?;
    Ok(CreatedKey { key, brand_created })
}
