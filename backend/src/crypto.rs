//! Random tokens, codes and hashes of secrets kept at rest.

use base64::Engine;
use rand::{Rng, RngCore, rngs::OsRng};
use sha2::{Digest, Sha256};

/// An opaque token of `bytes` random bytes, URL-safe base64.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// `n` random decimal digits.
pub fn random_digits(n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + OsRng.gen_range(0..10u8)))
        .collect()
}

/// A clinic activation code: 12 Crockford base32 characters (60 bits).
pub fn random_activation_code() -> domain::account::ActivationCode {
    let mut ix = [0u8; domain::account::ACTIVATION_CODE_LEN];
    for i in ix.iter_mut() {
        *i = OsRng.gen_range(0..32u8);
    }
    domain::account::ActivationCode::from_indexes(&ix)
}

/// SHA-256, hex. For high-entropy secrets (tokens, codes) stored at rest.
pub fn sha256_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The server's 256-bit key for secrets kept at rest (TOTP seeds). Sealed values are
/// XChaCha20-Poly1305 with a random nonce, bound to a context string (the row they belong
/// to), so a sealed value copied to another row does not open.
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

const SEALED_PREFIX: &str = "v1.";

impl ServerKey {
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        OsRng.fill_bytes(&mut k);
        Self(k)
    }

    /// Reads a key written by [`ServerKey::to_base64`]: 32 bytes, standard base64.
    pub fn from_base64(s: &str) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|_| "the server key is not base64".to_string())?;
        let k: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the server key must be 32 bytes".to_string())?;
        Ok(Self(k))
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        let cipher = chacha20poly1305::XChaCha20Poly1305::new((&self.0).into());
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("encryption with a valid key does not fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!(
            "{SEALED_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
        )
    }

    /// Opens a sealed value; `None` when it was altered, moved or sealed with another key.
    pub fn open(&self, sealed: &str, context: &str) -> Option<Vec<u8>> {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed.strip_prefix(SEALED_PREFIX)?)
            .ok()?;
        if raw.len() < 24 + 16 {
            return None;
        }
        let (nonce, ct) = raw.split_at(24);
        let cipher = chacha20poly1305::XChaCha20Poly1305::new((&self.0).into());
        cipher
            .decrypt(
                nonce.into(),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .ok()
    }
}

const BACKUP_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A backup code: 16 base32 characters (80 bits) in groups of four, `k7m2-9qpx-...`.
pub fn random_backup_code() -> String {
    let chars: Vec<char> = (0..16)
        .map(|_| char::from(BACKUP_ALPHABET[OsRng.gen_range(0..32usize)]))
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A backup code as typed, reduced to its characters: case, spaces and dashes do not matter,
/// and the look-alikes i/l and o read as 1 and 0.
pub fn normalize_backup_code(input: &str) -> Option<String> {
    let s: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        })
        .collect();
    (s.len() == 16 && s.bytes().all(|b| BACKUP_ALPHABET.contains(&b))).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let k = ServerKey::random();
        let sealed = k.seal(b"secret seed", "factor-1");
        assert_eq!(
            k.open(&sealed, "factor-1").as_deref(),
            Some(&b"secret seed"[..])
        );
        assert!(k.open(&sealed, "factor-2").is_none());
        assert!(ServerKey::random().open(&sealed, "factor-1").is_none());
        let k2 = ServerKey::from_base64(&k.to_base64()).unwrap();
        assert!(k2.open(&sealed, "factor-1").is_some());
        assert_ne!(sealed, k.seal(b"secret seed", "factor-1"));
    }

    #[test]
    fn backup_codes_have_80_bits_and_read_back() {
        let c = random_backup_code();
        assert_eq!(c.len(), 19);
        let n = normalize_backup_code(&c.to_uppercase().replace('-', " ")).unwrap();
        assert_eq!(n, c.replace('-', ""));
        assert!(normalize_backup_code("short").is_none());
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
    }

    #[test]
    fn hashing_separates_parts() {
        assert_ne!(sha256_hex(&["ab", "c"]), sha256_hex(&["a", "bc"]));
    }

    #[test]
    fn digits_are_digits() {
        let d = random_digits(6);
        assert_eq!(d.len(), 6);
        assert!(d.chars().all(|c| c.is_ascii_digit()));
    }
}
