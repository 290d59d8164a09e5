//! Admin credentials: the rules for emails and passwords, and argon2id hashing.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

pub const MIN_PASSWORD: usize = 10;
const MAX_PASSWORD: usize = 1024;

/// Trimmed and lower-cased, so sign-in does not depend on how the address was typed.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    crate::domain::email::normalize(raw).ok_or("Enter an email address like admin@example.com.")
}

/// The 1,000 most common passwords, one a line: `10-million-password-list-top-1000.txt` of
/// SecLists (github.com/danielmiessler/SecLists, MIT licence), from Mark Burnett's list of ten
/// million leaked passwords. Most are shorter than [`MIN_PASSWORD`] and fail on length first;
/// the list catches the long ones (`1234567890`, `qwertyuiop`, ...).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Whether `password`, trimmed and in any case, is on the common list. A linear scan: this
/// runs at setup and in the CLI only, never per request.
pub fn is_common(password: &str) -> bool {
    let p = password.trim();
    COMMON_PASSWORDS
        .lines()
        .any(|common| common.eq_ignore_ascii_case(p))
}

pub fn check_password(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        Err("Use at least 10 characters.")
    } else if n > MAX_PASSWORD {
        Err("Use at most 1024 characters.")
    } else if password.trim().is_empty() {
        Err("A password of only spaces is too easy to guess. Use letters, digits or words.")
    } else if is_common(password) {
        Err("This is one of the most common passwords, which attackers try first. Choose another.")
    } else {
        Ok(())
    }
}

/// argon2id with the crate's defaults (19 MiB, 2 passes): slow on purpose. Call off the
/// async workers.
pub fn hash_password(password: &str) -> String {
    let salt = crate::domain::random::bytes::<16>();
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 accepts any password up to 4 GiB")
        .to_string()
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Verify against a throwaway hash, so an unknown email costs as much time as a wrong password
/// (otherwise response times would tell which emails have accounts).
pub fn burn_verify(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not-a-real-password"));
    let _ = verify_password(password, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_password("correct horse battery");
        let b = hash_password("correct horse battery");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("correct horse battery", &a));
        assert!(!verify_password("correct horse batterY", &a));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn email_and_password_rules() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
        assert!(check_password("123456789").is_err());
        assert!(check_password("1234567809").is_ok());
        // Long enough but only whitespace, or a common password in any case and padding.
        for bad in [
            "          ",
            " \t\n         ",
            "1234567890",
            "QwertyUiop",
            " qwertyuiop ",
        ] {
            assert!(check_password(bad).is_err(), "{bad:?}");
        }
        assert!(check_password("correct horse battery").is_ok());
        assert!(is_common("PASSWORD") && is_common("dragon") && !is_common("dragonfly!"));
    }
}
