//! Password hashing (argon2id on its own bounded pool, see [`super::hashing`]) and the
//! new-password rules.

use super::hashing::HashPool;
use crate::{Error, Result, Settings};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use domain::account::Password;
use rand::rngs::OsRng;
use std::collections::HashSet;
use std::io::Read;
use std::sync::{Arc, OnceLock};

pub struct PasswordService {
    params: Params,
    pool: Arc<HashPool>,
    /// A real hash of a random password, verified against when the account does not
    /// exist, so an unknown name costs the same time as a known one.
    dummy: OnceLock<String>,
}

/// How a stored hash compared with a password.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Correct, and the stored hash uses weaker parameters than today's policy.
    YesRehash,
}

impl PasswordService {
    pub fn new(s: &Settings) -> Self {
        let params = Params::new(s.argon2_m_kib, s.argon2_t, s.argon2_p, Some(32))
            .expect("valid argon2 parameters");
        Self {
            params,
            pool: Arc::new(HashPool::new(s.hash_concurrency, s.hash_queue_wait)),
            dummy: OnceLock::new(),
        }
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// How many hashes may wait for a thread (after [`Self::warm_up`], fitted to this machine).
    pub fn queue_limit(&self) -> usize {
        self.pool.queue_limit()
    }

    pub async fn hash(&self, password: &Password) -> Result<String> {
        let argon = self.argon();
        let pw = password.expose().to_owned();
        self.pool
            .run(move || {
                let salt = SaltString::generate(&mut OsRng);
                argon
                    .hash_password(pw.as_bytes(), &salt)
                    .map(|h| h.to_string())
                    .map_err(|e| Error::Unexpected(format!("hash: {e}")))
            })
            .await?
    }

    /// Computes the dummy hash ahead of the first sign-in, so that one costs no extra hash,
    /// and fits the hashing queue to the time one verify takes here.
    pub async fn warm_up(&self) -> Result<()> {
        let p = Password::for_sign_in("warm-up password never used")?;
        self.verify(&p, None).await?;
        let started = std::time::Instant::now();
        self.verify(&p, None).await?;
        self.pool.fit_queue(started.elapsed());
        Ok(())
    }

    /// Verifies `password` against `stored`, or against a dummy hash when there is no account.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> Result<Verified> {
        let dummy = match self.dummy.get() {
            Some(d) => d.clone(),
            None => {
                let d = self
                    .hash(&Password::for_sign_in("dummy password never used")?)
                    .await?;
                self.dummy.get_or_init(|| d).clone()
            }
        };
        let real = stored.is_some();
        let phc = stored.map(str::to_owned).unwrap_or(dummy);
        let pw = password.expose().to_owned();
        let want = self.params.clone();
        let argon = self.argon();
        self.pool
            .run(move || {
                let Ok(parsed) = PasswordHash::new(&phc) else {
                    return Verified::No;
                };
                let ok = argon.verify_password(pw.as_bytes(), &parsed).is_ok();
                if !ok || !real {
                    return Verified::No;
                }
                let weaker = Params::try_from(&parsed)
                    .map(|p| p.m_cost() < want.m_cost() || p.t_cost() < want.t_cost())
                    .unwrap_or(true);
                if parsed.algorithm != argon2::ARGON2ID_IDENT || weaker {
                    Verified::YesRehash
                } else {
                    Verified::Yes
                }
            })
            .await
    }

    /// Applies every new-password rule: length and personal details (domain), the shipped
    /// common-password list, and a zxcvbn strength of at least 3.
    pub fn check_new(&self, raw: &str, personal: &[&str]) -> Result<Password> {
        let pw = Password::new_password(raw, personal)?;
        if is_common(pw.expose()) {
            return Err(Error::Invalid(
                "This password is too common: it is on the lists attackers try first. Choose another, for example a few unrelated words.".into(),
            ));
        }
        let score = zxcvbn::zxcvbn(pw.expose(), personal).score();
        if (score as u8) < 3 {
            return Err(Error::Invalid(
                "This password is too easy to guess. Make it longer or add unrelated words.".into(),
            ));
        }
        Ok(pw)
    }
}

static COMMON: OnceLock<HashSet<String>> = OnceLock::new();

fn common_passwords() -> &'static HashSet<String> {
    COMMON.get_or_init(|| {
        let gz: &[u8] = include_bytes!("../../data/common-passwords.txt.gz");
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_string(&mut text)
            .expect("the shipped password list decompresses");
        text.lines()
            .map(|l| l.trim().to_lowercase())
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Whether the password (case-insensitively) is on the shipped list of common passwords.
pub fn is_common(pw: &str) -> bool {
    common_passwords().contains(&pw.to_lowercase())
}

/// Number of entries in the shipped list.
pub fn common_list_len() -> usize {
    common_passwords().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc() -> PasswordService {
        PasswordService::new(&Settings::for_tests())
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_password_and_is_argon2id() {
        let s = svc();
        let pw = Password::for_sign_in("Quiet otter meadow").unwrap();
        let h = s.hash(&pw).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$"));
        assert_eq!(s.verify(&pw, Some(&h)).await.unwrap(), Verified::Yes);
        let wrong = Password::for_sign_in("Quiet otter meadoW").unwrap();
        assert_eq!(s.verify(&wrong, Some(&h)).await.unwrap(), Verified::No);
        assert_eq!(s.verify(&pw, None).await.unwrap(), Verified::No);
    }

    #[tokio::test]
    async fn production_parameters_meet_the_policy() {
        let s = PasswordService::new(&Settings::default());
        assert!(s.params.m_cost() >= 19_456 && s.params.t_cost() >= 2 && s.params.p_cost() == 1);
    }

    #[tokio::test]
    async fn a_weaker_stored_hash_asks_for_a_rehash() {
        let weak = svc();
        let pw = Password::for_sign_in("Quiet otter meadow").unwrap();
        let h = weak.hash(&pw).await.unwrap();
        let strong = PasswordService::new(&Settings {
            argon2_m_kib: 128,
            ..Settings::for_tests()
        });
        assert_eq!(
            strong.verify(&pw, Some(&h)).await.unwrap(),
            Verified::YesRehash
        );
    }

    #[test]
    fn the_common_list_is_large_and_used() {
        assert!(common_list_len() >= 100_000, "{}", common_list_len());
        let err = svc().check_new("password1234", &[]).unwrap_err();
        assert!(err.to_string().contains("too common"), "{err}");
        assert!(svc().check_new("aaaaaaaaaaaa", &[]).is_err());
        assert!(
            svc()
                .check_new("Quiet-Otter-Meadow-1964x", &["Emet", "Stubfield"])
                .is_ok()
        );
    }

    #[tokio::test]
    async fn hashing_beyond_capacity_answers_busy_instead_of_queueing_forever() {
        let s = Arc::new(PasswordService::new(&Settings {
            hash_concurrency: 1,
            hash_queue_wait: std::time::Duration::from_millis(1),
            argon2_m_kib: 8192,
            argon2_t: 3,
            ..Settings::for_tests()
        }));
        let pw = Password::for_sign_in("Quiet otter meadow").unwrap();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (s, pw) = (s.clone(), pw.clone());
            tasks.push(tokio::spawn(async move { s.hash(&pw).await }));
        }
        let mut busy = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Err(Error::Busy)) {
                busy += 1;
            }
        }
        assert!(busy >= 1, "some requests must be turned away");
    }
}
