//! Clinic-side account operations (the `mhc` commands now; the staff console later).

use crate::audit::{self, Entry, Outcome, RequestMeta};
use crate::auth::{signin::find_by_login, throttle};
use crate::storage::entity::{patient, user_account};
use crate::{Error, Portal, Result, new_id};
use domain::account::{Email, LoginId, Username};
use domain::person::NamePart;
use domain::session::Role;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    TransactionTrait,
};

pub struct NewStaff<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub role: Role,
    pub password: &'a str,
    pub clinic_id: Option<String>,
}

/// A new row of `user_account`: the one place accounts are built, for staff, the demo seed
/// and patients' own activation.
pub(crate) struct NewAccount<'a> {
    pub username: &'a Username,
    pub email: &'a Email,
    pub given: &'a str,
    pub family: &'a str,
    pub role: Role,
    pub patient_id: Option<String>,
    pub clinic_id: Option<String>,
    pub password_hash: String,
    pub email_verified: bool,
}

impl NewAccount<'_> {
    pub(crate) fn row(self, id: &str, now: i64) -> user_account::ActiveModel {
        user_account::ActiveModel {
            id: Set(id.to_owned()),
            username: Set(self.username.as_str().to_owned()),
            email: Set(self.email.as_str().to_owned()),
            email_key: Set(self.email.key()),
            email_verified_at: Set(self.email_verified.then_some(now)),
            password_hash: Set(self.password_hash),
            role: Set(self.role.as_str().to_owned()),
            patient_id: Set(self.patient_id),
            clinic_id: Set(self.clinic_id),
            given_name: Set(self.given.to_owned()),
            family_name: Set(self.family.to_owned()),
            failed_logins: Set(0),
            locked_at: Set(None),
            suspended_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            phone: Set(None),
            phone_verified_at: Set(None),
        }
    }
}

/// Writes a new account and its `account.created` audit entry inside the caller's transaction,
/// after checking again, in it, that the username and email address are free.
pub(crate) async fn insert_account(
    txn: &DatabaseTransaction,
    now: i64,
    meta: &RequestMeta,
    account: NewAccount<'_>,
    by: &str,
) -> Result<String> {
    let id = new_id();
    let taken = user_account::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(user_account::Column::Username.eq(account.username.as_str()))
                .add(user_account::Column::EmailKey.eq(account.email.key())),
        )
        .one(txn)
        .await?
        .is_some();
    if taken {
        return Err(Error::Invalid(
            "That username or email address is already in use.".into(),
        ));
    }
    let (role, patient_id) = (account.role, account.patient_id.clone());
    account.row(&id, now).insert(txn).await?;
    audit::record(
        txn,
        now,
        meta,
        Entry::new("account.created", Outcome::Ok)
            .label(by.to_owned())
            .maybe_patient(patient_id)
            .object(id.clone())
            .detail(role.as_str()),
    )
    .await?;
    Ok(id)
}

impl Portal {
    /// Creates a staff account (clinician, front desk or admin).
    pub async fn create_staff(
        &self,
        n: NewStaff<'_>,
        by: &str,
        meta: &RequestMeta,
    ) -> Result<String> {
        if !n.role.is_staff() {
            return Err(Error::Invalid(
                "Choose a staff role: clinician, front_desk or admin.".into(),
            ));
        }
        let username = Username::parse(n.username)?;
        let email = Email::parse(n.email)?;
        let given = NamePart::parse(n.given_name, "first name")?;
        let family = NamePart::parse(n.family_name, "last name")?;
        let pw = self.passwords.check_new(
            n.password,
            &[
                given.as_str(),
                family.as_str(),
                username.as_str(),
                email.as_str(),
            ],
        )?;
        self.insert_user(
            &username,
            &email,
            &given,
            &family,
            n.role,
            None,
            n.clinic_id,
            &pw,
            by,
            meta,
        )
        .await
    }

    /// Inserts an account with an already-checked password (staff creation and the demo seed).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_user(
        &self,
        username: &Username,
        email: &Email,
        given: &NamePart,
        family: &NamePart,
        role: Role,
        patient_id: Option<String>,
        clinic_id: Option<String>,
        pw: &domain::account::Password,
        by: &str,
        meta: &RequestMeta,
    ) -> Result<String> {
        let account = NewAccount {
            username,
            email,
            given: given.as_str(),
            family: family.as_str(),
            role,
            patient_id,
            clinic_id,
            password_hash: self.passwords.hash(pw).await?,
            email_verified: true,
        };
        let txn = self.db.begin().await?;
        let id = insert_account(&txn, self.now(), meta, account, by).await?;
        txn.commit().await?;
        Ok(id)
    }

    /// Lifts a lock after staff checked the person's identity; clears the failure counters.
    pub async fn unlock_account(
        &self,
        login: &str,
        by: &str,
        meta: &RequestMeta,
    ) -> Result<String> {
        let login = LoginId::parse(login)?;
        let u = find_by_login(self, &login).await?.ok_or(Error::NotFound)?;
        let now = self.now();
        let txn = self.db.begin().await?;
        user_account::Entity::update_many()
            .col_expr(
                user_account::Column::LockedAt,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(user_account::Column::FailedLogins, Expr::value(0))
            .col_expr(user_account::Column::UpdatedAt, Expr::value(now))
            .filter(user_account::Column::Id.eq(u.id.clone()))
            .exec(&txn)
            .await?;
        for key in [login.as_str(), u.username.as_str(), u.email_key.as_str()] {
            throttle::clear(&txn, &throttle::login_bucket(key)).await?;
        }
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("account.unlocked", Outcome::Ok)
                .label(by.to_owned())
                .maybe_patient(u.patient_id.clone())
                .object(u.id.clone()),
        )
        .await?;
        txn.commit().await?;
        Ok(u.username)
    }

    /// The account a staff command names by username or email; "not found" otherwise.
    async fn account_by_login(&self, login: &str) -> Result<user_account::Model> {
        let login = LoginId::parse(login)?;
        find_by_login(self, &login).await?.ok_or(Error::NotFound)
    }

    /// Suspends an account (SECURITY 18): sign-in is refused and every session ends.
    pub async fn suspend_account(
        &self,
        login: &str,
        by: &str,
        meta: &RequestMeta,
    ) -> Result<String> {
        let u = self.account_by_login(login).await?;
        self.suspend(&u, Some(by), meta).await?;
        Ok(u.username)
    }

    /// Lifts a suspension after staff checked the person's identity.
    pub async fn restore_account(
        &self,
        login: &str,
        by: &str,
        meta: &RequestMeta,
    ) -> Result<String> {
        let u = self.account_by_login(login).await?;
        let now = self.now();
        let txn = self.db.begin().await?;
        user_account::Entity::update_many()
            .col_expr(
                user_account::Column::SuspendedAt,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(user_account::Column::UpdatedAt, Expr::value(now))
            .filter(user_account::Column::Id.eq(u.id.clone()))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            now,
            meta,
            Entry::new("account.restored", Outcome::Ok)
                .label(by.to_owned())
                .maybe_patient(u.patient_id.clone())
                .object(u.id.clone()),
        )
        .await?;
        txn.commit().await?;
        Ok(u.username)
    }

    /// Removes an account's second factors and backup codes after an identity check (a lost
    /// phone); the person is told by email. Returns the username and how many were removed.
    pub async fn reset_second_factors(
        &self,
        login: &str,
        by: &str,
        meta: &RequestMeta,
    ) -> Result<(String, u64)> {
        let u = self.account_by_login(login).await?;
        let n = self.clear_second_factors(&u, by, meta).await?;
        Ok((u.username, n))
    }

    pub async fn patient_by_mrn(&self, mrn: &str) -> Result<patient::Model> {
        patient::Entity::find()
            .filter(patient::Column::Mrn.eq(mrn.trim()))
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)
    }
}
