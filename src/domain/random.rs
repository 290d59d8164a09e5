//! The one source of randomness (the OS CSPRNG, for ids, keys, salts, tokens; a per-thread
//! CSPRNG seeded from it for what every click draws) and the one hex encoding. Reading the OS
//! source can only fail on a system without one, where nothing secret can be made safely:
//! that is a panic, not an error to handle.

/// `N` random bytes from the OS.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    buf
}

/// 128 random bits from the thread's CSPRNG (`rand`'s ChaCha12, seeded from the OS and
/// reseeded as it goes): for the click ids made on every redirect, where a `getrandom` call
/// each was 2 % of a click's CPU. Keys, salts and tokens take `bytes` from the OS.
pub fn per_thread_u128() -> u128 {
    rand::Rng::random(&mut rand::rng())
}

/// `n` random bytes from the OS.
pub fn vec(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    buf
}

/// Lower-case hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(super::hex(&[0, 0xab, 0x0f]), "00ab0f");
    }

    #[test]
    fn draws_differ() {
        assert_ne!(super::bytes::<16>(), super::bytes::<16>());
        assert_eq!(super::vec(5).len(), 5);
    }
}
