//! Lookups shared by the clinic-side workflows (messages, appointments, refills, console):
//! people's display names, a patient's clinic, the clinic's staff and patients, and the list
//! of patients an audited list read showed.

use crate::Result;
use crate::error::Error;
use crate::storage::entity::{patient, user_account};
use domain::session::Role;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// Which of `acts` (patient, account) were done by a caregiver acting for the patient: an
/// account that is neither the patient's own nor staff. Their name with "(caregiver)", for
/// the labels staff and the patient see on messages, refill requests and bookings.
pub(crate) async fn caregiver_names<C: ConnectionTrait>(
    db: &C,
    acts: &[(String, String)],
) -> Result<HashMap<(String, String), String>> {
    if acts.is_empty() {
        return Ok(HashMap::new());
    }
    let users: HashMap<String, user_account::Model> = user_account::Entity::find()
        .filter(user_account::Column::Id.is_in(acts.iter().map(|a| a.1.clone())))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect();
    Ok(acts
        .iter()
        .filter_map(|(patient, user)| {
            let u = users.get(user)?;
            let staff = Role::parse(&u.role).is_some_and(|r| r.is_staff());
            let own = u.patient_id.as_deref() == Some(patient.as_str());
            (!staff && !own).then(|| {
                (
                    (patient.clone(), user.clone()),
                    format!("{} {} (caregiver)", u.given_name, u.family_name),
                )
            })
        })
        .collect())
}

/// Display names of accounts, by id.
pub(crate) async fn names<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user_account::Entity::find()
        .filter(user_account::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| {
            let name = match u.role.as_str() {
                "clinician" => format!("Dr {} {}", u.given_name, u.family_name),
                _ => format!("{} {}", u.given_name, u.family_name),
            };
            (u.id, name)
        })
        .collect())
}

/// The patient's clinic.
pub(crate) async fn clinic_of<C: ConnectionTrait>(db: &C, patient_id: &str) -> Result<String> {
    Ok(patient::Entity::find_by_id(patient_id.to_owned())
        .one(db)
        .await?
        .ok_or(Error::NotFound)?
        .clinic_id)
}

/// Active staff of a clinic in the given roles.
pub(crate) async fn clinic_staff<C: ConnectionTrait>(
    db: &C,
    clinic_id: &str,
    roles: &[Role],
) -> Result<Vec<user_account::Model>> {
    Ok(user_account::Entity::find()
        .filter(user_account::Column::ClinicId.eq(clinic_id))
        .filter(user_account::Column::Role.is_in(roles.iter().map(|r| r.as_str())))
        .filter(user_account::Column::SuspendedAt.is_null())
        .order_by_asc(user_account::Column::FamilyName)
        .all(db)
        .await?)
}

pub(crate) fn patient_name(p: &patient::Model) -> String {
    format!("{} {}", p.given_name, p.family_name)
}

/// Patients' display names, by id.
pub(crate) async fn patient_names<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(patient::Entity::find()
        .filter(patient::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), patient_name(&p)))
        .collect())
}

/// The ids of a clinic's patients.
pub(crate) async fn clinic_patient_ids<C: ConnectionTrait>(
    db: &C,
    clinic_id: &str,
) -> Result<Vec<String>> {
    Ok(patient::Entity::find()
        .select_only()
        .column(patient::Column::Id)
        .filter(patient::Column::ClinicId.eq(clinic_id))
        .into_tuple::<String>()
        .all(db)
        .await?)
}
