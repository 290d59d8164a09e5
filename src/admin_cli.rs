//! What the CLI's management commands do to the database (no server needed; safe beside one).

use std::path::Path;

use std::io::{BufRead, IsTerminal};

use crate::domain::password::{check_password, hash_password, normalize_email};
use crate::store::{StoreError, admins, brands, keys};

pub struct CreatedKey {
    pub key: String,
    pub brand_created: bool,
}

pub fn create_key(data_dir: &Path, brand: &str, name: &str) -> anyhow::Result<CreatedKey> {
    let brand = crate::domain::name::Name::parse(brand).map_err(|_| {
        anyhow::anyhow!(
            "--brand must be 1-{} characters",
            crate::domain::name::Name::MAX_CHARS
        )
    })?;
    let brand = brand.as_str();
    let pool = crate::db::open(data_dir)?;
    let conn = pool.get()?;
    let (b, brand_created) = brands::find_or_create(&conn, brand)?;
    let (_, key) = keys::create(&conn, b.id, name)?;
    Ok(CreatedKey { key, brand_created })
}

/// The password from a prompt on a terminal (asked twice), or the first line of stdin when
/// piped. Never a flag: flags end up in shell history and `ps`.
pub fn read_password(confirm: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let password = rpassword::prompt_password("Password: ")?;
    if confirm && rpassword::prompt_password("Password again: ")? != password {
        anyhow::bail!("the two passwords differ");
    }
    Ok(password)
}

fn checked(email: &str, password: &str) -> anyhow::Result<String> {
    let email = normalize_email(email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
    check_password(password).map_err(|m| anyhow::anyhow!("password: {m}"))?;
    Ok(email)
}

/// Create an admin (the headless way through first-run setup). Returns the stored email.
pub fn create_admin(data_dir: &Path, email: &str, password: &str) -> anyhow::Result<String> {
    let email = checked(email, password)?;
    let pool = crate::db::open(data_dir)?;
    let conn = pool.get()?;
    admins::create(&conn, &email, &hash_password(password)).map_err(|e| match e {
        StoreError::Duplicate { .. } => anyhow::anyhow!(
            "an admin with email {email} exists; use `trcker admin reset-password` to change the password"
        ),
        e => e.into(),
    })?;
    Ok(email)
}

/// Set a new password and end the admin's sessions. Returns the stored email.
pub fn reset_password(data_dir: &Path, email: &str, password: &str) -> anyhow::Result<String> {
    let email = checked(email, password)?;
    let pool = crate::db::open(data_dir)?;
    let mut conn = pool.get()?;
    admins::set_password(&mut conn, &email, &hash_password(password)).map_err(|e| match e {
        StoreError::NotFound => anyhow::anyhow!("no admin with email {email}"),
        e => e.into(),
    })?;
    Ok(email)
}
