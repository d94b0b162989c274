//! A parent's or guardian's access to a child's record, set up by the front desk after an
//! identity check. It covers the whole record, loses the sensitive categories from the
//! child's 12th birthday and ends by itself on the 18th (in the clinic's time zone).

use super::{ADULT_AT, BY_CLINIC, DAY_MS};
use crate::StaffAccess;
use crate::audit::{self, RequestMeta};
use crate::storage::entity::{patient, proxy_grant};
use crate::{Error, Portal, Result, crypto, new_id};
use domain::account::Email;
use domain::person::parse_iso_date;
use domain::proxy::{GrantStatus, Relationship, Scope};
use domain::session::staff_roles::FRONT_DESK;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, TransactionTrait};

impl Portal {
    /// The front desk invites a child's parent or legal guardian. `identity_note` says how
    /// the parent's identity and relationship were checked (10 to 500 characters).
    pub async fn grant_guardian(
        &self,
        staff: &StaffAccess,
        patient_id: &str,
        email: &Email,
        relationship: Relationship,
        identity_note: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        staff.require(FRONT_DESK)?;
        let p = self.clinic_patient(staff, patient_id).await?;
        if !matches!(relationship, Relationship::Parent | Relationship::Guardian) {
            return Err(Error::Invalid(
                "A child's access is for a parent or legal guardian.".into(),
            ));
        }
        let note = domain::tidy(identity_note);
        if !(10..=500).contains(&note.chars().count()) {
            return Err(Error::Invalid(
                "Write how you checked the parent's identity and relationship (10 to 500 characters)."
                    .into(),
            ));
        }
        if self.patient_age(&p).await? >= ADULT_AT {
            return Err(Error::Invalid(
                "This patient is an adult: only they can give someone access.".into(),
            ));
        }
        let expires_at = self.adult_at(&p).await?;
        let now = self.now();
        let token = crypto::random_token(32);
        let id = new_id();
        let txn = self.db.begin().await?;
        proxy_grant::ActiveModel {
            id: Set(id.clone()),
            patient_id: Set(p.id.clone()),
            caregiver_user_id: Set(None),
            invited_email: Set(email.as_str().to_owned()),
            relationship: Set(relationship.as_str().to_owned()),
            scopes: Set(Scope::join(&Scope::ALL)),
            kind: Set(BY_CLINIC.to_owned()),
            status: Set(GrantStatus::Invited.as_str().to_owned()),
            created_by: Set(staff.user_id().to_owned()),
            created_at: Set(now),
            expires_at: Set(expires_at),
            accepted_at: Set(None),
            ended_at: Set(None),
            end_reason: Set(None),
            reminded_at: Set(None),
            identity_note: Set(Some(note)),
            invite_token_hash: Set(Some(super::invitation::token_hash(&token))),
            invite_expires_at: Set(Some(now + super::invitation::INVITE_DAYS * DAY_MS)),
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            now,
            meta,
            staff
                .entry("proxy.guardian")
                .patient(p.id.clone())
                .category("proxy")
                .object(id)
                .detail(format!("{} ({})", email.as_str(), relationship.label())),
        )
        .await?;
        txn.commit().await?;
        let url = format!(
            "{}/proxy/accept#{token}",
            self.settings.public_url.trim_end_matches('/')
        );
        let body = format!(
            "Hello,\n\nYour clinic set up access for you to your child's record in {portal}.\n\n\
             Open this link to accept (it works once, for 7 days):\n{url}\n\nYou will sign in, \
             or create your own account, and confirm your child's date of birth.\n\n\
             We never ask for your password by email.\n\n— {portal}\n",
            portal = self.settings.portal_name
        );
        if let Err(e) = self
            .mailer
            .send(
                email.as_str(),
                &format!(
                    "{}: access to your child's record",
                    self.settings.portal_name
                ),
                &body,
            )
            .await
        {
            tracing::warn!(error = %e, "a guardian invitation could not be sent");
        }
        Ok(())
    }

    /// The instant a patient turns 18: the first minute of the 18th birthday in the clinic's
    /// time zone (a 29 February birthday: 1 March). A parent's grant ends there.
    pub(crate) async fn adult_at(&self, p: &patient::Model) -> Result<i64> {
        let born = parse_iso_date(&p.birth_date)
            .ok_or_else(|| Error::Unexpected("stored birth date unreadable".into()))?;
        // Ends at the first minute of the 18th birthday, in the clinic's time zone (a 29
        // February birthday: 1 March).
        let eighteen = born
            .replace_year(born.year() + ADULT_AT)
            .unwrap_or_else(|_| {
                time::Date::from_calendar_date(born.year() + ADULT_AT, time::Month::March, 1)
                    .unwrap_or(born)
            });
        let day = jiff::civil::date(
            eighteen.year() as i16,
            eighteen.month() as i8,
            eighteen.day() as i8,
        );
        let zone = self.clinic_zone(&p.clinic_id).await?;
        let expires_at = zone
            .instant(day, 0)
            .ok_or_else(|| Error::Unexpected("no local midnight".into()))?;
        Ok(expires_at)
    }
}
