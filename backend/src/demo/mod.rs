//! Demo data for `make run`: a clinic, staff, and the fixture patients, seeded into an empty
//! embedded database on first start.

use crate::audit::RequestMeta;
use crate::storage::entity::{clinic, portal_meta, user_account};
use crate::{Error, Portal, Result, new_id};
use domain::account::{Email, Password, Username};
use domain::person::NamePart;
use domain::session::Role;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use std::path::Path;

mod clinic_day;
pub mod family;
pub mod labs;

pub const CLINIC_NAME: &str = "Riverside Family Clinic";
/// The demo clinic's wall clock.
pub const CLINIC_TIME_ZONE: &str = "America/Chicago";
/// Password of every demo account. Demo only: printed by `make run`.
pub const DEMO_PASSWORD: &str = "Maple-Lantern-Harbor-42";
pub const READY_MRN: &str = "BC909B9D";
pub const READY_USERNAME: &str = "dara.dummett";
pub const ACTIVATE_MRN: &str = "61146B0D";

pub const STAFF: [(&str, &str, &str, Role); 3] = [
    ("fen.mocklin", "Fen", "Mocklin", Role::Clinician),
    ("riley.frontdesk", "Riley", "Okafor", Role::FrontDesk),
    ("sam.admin", "Sam", "Lindqvist", Role::Admin),
];

/// What `make run` prints after start-up.
pub struct DemoSignIns {
    pub ready_username: String,
    pub activate_name: String,
    pub activate_dob: String,
    pub activation_code: Option<String>,
    pub staff: Vec<(String, Role)>,
    /// Caregivers and the teenager: (username, who they are).
    pub family: Vec<(String, String)>,
}

/// The default clinic, created if there is none.
pub async fn default_clinic(portal: &Portal) -> Result<String> {
    if let Some(c) = clinic::Entity::find().one(&portal.db).await? {
        return Ok(c.id);
    }
    let id = new_id();
    clinic::ActiveModel {
        id: Set(id.clone()),
        name: Set(CLINIC_NAME.into()),
        phone: Set(Some("+1 555 0100".into())),
        require_second_factor: Set(0),
        created_at: Set(portal.now()),
        time_zone: Set(Some(CLINIC_TIME_ZONE.into())),
    }
    .insert(&portal.db)
    .await?;
    Ok(id)
}

async fn meta_get(portal: &Portal, name: &str) -> Result<Option<String>> {
    Ok(portal_meta::Entity::find_by_id(name.to_owned())
        .one(&portal.db)
        .await?
        .map(|m| m.value))
}

async fn meta_set(portal: &Portal, name: &str) -> Result<()> {
    portal_meta::ActiveModel {
        name: Set(name.into()),
        value: Set(portal.now().to_string()),
    }
    .insert(&portal.db)
    .await?;
    Ok(())
}

/// The id of the account with this username.
async fn user_id(portal: &Portal, username: &str) -> Result<String> {
    Ok(user_account::Entity::find()
        .filter(user_account::Column::Username.eq(username))
        .one(&portal.db)
        .await?
        .ok_or(Error::NotFound)?
        .id)
}

async fn user_exists(portal: &Portal, username: &str) -> Result<bool> {
    Ok(user_account::Entity::find()
        .filter(user_account::Column::Username.eq(username))
        .count(&portal.db)
        .await?
        > 0)
}

/// The demo clinic's care team, pharmacies, visit types, location and weekly schedule (the
/// clinician sees follow-ups every weekday morning and physicals on Monday and Wednesday
/// afternoons). One transaction: all of it or none.
pub async fn seed_care(portal: &Portal, clinic_id: &str) -> Result<()> {
    use crate::storage::entity::{
        availability, care_team, location, pharmacy, user_account, visit_type,
    };
    use sea_orm::TransactionTrait;
    let now = portal.now();
    let clinician = user_account::Entity::find()
        .filter(user_account::Column::Username.eq(STAFF[0].0))
        .one(&portal.db)
        .await?
        .ok_or(Error::NotFound)?;
    let txn = portal.db.begin().await?;
    clinic::Entity::update_many()
        .col_expr(
            clinic::Column::TimeZone,
            sea_orm::sea_query::Expr::value(CLINIC_TIME_ZONE),
        )
        .filter(clinic::Column::Id.eq(clinic_id))
        .filter(clinic::Column::TimeZone.is_null())
        .exec(&txn)
        .await?;
    care_team::ActiveModel {
        id: Set(new_id()),
        clinic_id: Set(clinic_id.to_owned()),
        name: Set("Riverside care team".into()),
        response_hours: Set(48),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    for (name, address, phone) in [
        (
            "Riverside Pharmacy",
            "12 Mill Road, Riverside",
            "+1 555 0142",
        ),
        (
            "Harbor Street Drugstore",
            "301 Harbor Street, Riverside",
            "+1 555 0177",
        ),
    ] {
        pharmacy::ActiveModel {
            id: Set(new_id()),
            clinic_id: Set(clinic_id.to_owned()),
            name: Set(name.into()),
            address: Set(address.into()),
            phone: Set(Some(phone.into())),
        }
        .insert(&txn)
        .await?;
    }
    let loc = new_id();
    location::ActiveModel {
        id: Set(loc.clone()),
        clinic_id: Set(clinic_id.to_owned()),
        fhir_id: Set(format!("portal-location-{loc}")),
        name: Set("Riverside Family Clinic, Main Street".into()),
        address: Set(Some("40 Main Street, Riverside".into())),
        resource: Set(None),
    }
    .insert(&txn)
    .await?;
    let mut kinds = Vec::new();
    for (name, minutes, self_schedule, instructions) in [
        (
            "Follow-up visit",
            20,
            1,
            "Bring your medicines or a list of them, and your blood sugar readings if you keep them.",
        ),
        (
            "Annual physical",
            40,
            1,
            "Do not eat for 8 hours before the visit (water is fine): we may draw blood for tests.",
        ),
        (
            "New problem visit",
            30,
            0,
            "Write down when the problem started and what makes it better or worse.",
        ),
    ] {
        let id = new_id();
        visit_type::ActiveModel {
            id: Set(id.clone()),
            clinic_id: Set(clinic_id.to_owned()),
            name: Set(name.into()),
            minutes: Set(minutes),
            self_schedule: Set(self_schedule),
            instructions: Set(Some(instructions.into())),
        }
        .insert(&txn)
        .await?;
        kinds.push(id);
    }
    let mut templates = Vec::new();
    for day in 1..=5 {
        templates.push((day, 9 * 60, 12 * 60, kinds[0].clone()));
    }
    for day in [1, 3] {
        templates.push((day, 13 * 60, 16 * 60, kinds[1].clone()));
    }
    templates.push((2, 13 * 60, 16 * 60, kinds[2].clone()));
    for (day, start, end, kind) in templates {
        availability::ActiveModel {
            id: Set(new_id()),
            clinic_id: Set(clinic_id.to_owned()),
            clinician_id: Set(clinician.id.clone()),
            location_id: Set(loc.clone()),
            visit_type_id: Set(kind),
            weekday: Set(day),
            start_minute: Set(start),
            end_minute: Set(end),
            created_by: Set("demo seed".into()),
            created_at: Set(now),
            removed_at: Set(None),
        }
        .insert(&txn)
        .await?;
    }
    sea_orm::TransactionSession::commit(txn).await?;
    Ok(())
}

/// Imports every `*.json` bundle in `dir` (sorted by name; immunizations after patients).
pub async fn import_dir(portal: &Portal, clinic_id: &str, dir: &Path) -> Result<u32> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::Unexpected(format!("read {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort_by_key(|p| (p.to_string_lossy().contains("immunization"), p.clone()));
    let mut n = 0;
    for f in files {
        let text = std::fs::read_to_string(&f)
            .map_err(|e| Error::Unexpected(format!("read {}: {e}", f.display())))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::Invalid(format!("{}: not JSON: {e}", f.display())))?;
        n += portal
            .import_bundle(clinic_id, &json)
            .await
            .map_err(|e| Error::Invalid(format!("{}: {e}", f.display())))?
            .total();
    }
    Ok(n)
}

/// Seeds the demo on first start (an empty database), and on every start issues a fresh
/// activation code for the demo patient who has not activated yet, so it can be printed.
pub async fn seed(portal: &Portal, fixtures: &Path) -> Result<DemoSignIns> {
    let meta = RequestMeta::default();
    let empty = clinic::Entity::find().count(&portal.db).await? == 0;
    // A seed interrupted half-way (it spans several transactions) resumes on the next start;
    // every step below is idempotent.
    let interrupted = meta_get(portal, "demo_seeding").await?.is_some()
        && meta_get(portal, "demo_seeded").await?.is_none();
    if empty || interrupted {
        if !interrupted {
            meta_set(portal, "demo_seeding").await?;
        }
        let clinic_id = default_clinic(portal).await?;
        import_dir(portal, &clinic_id, fixtures).await?;
        let pw = Password::for_sign_in(DEMO_PASSWORD)?;
        for (username, given, family, role) in STAFF {
            if user_exists(portal, username).await? {
                continue;
            }
            portal
                .insert_user(
                    &Username::parse(username)?,
                    &Email::parse(&format!("{username}@riverside.example.org"))?,
                    &NamePart::parse(given, "first name")?,
                    &NamePart::parse(family, "last name")?,
                    role,
                    None,
                    Some(clinic_id.clone()),
                    &pw,
                    "demo seed",
                    &meta,
                )
                .await?;
        }
        if !user_exists(portal, READY_USERNAME).await? {
            let ready = portal.patient_by_mrn(READY_MRN).await?;
            portal
                .insert_user(
                    &Username::parse(READY_USERNAME)?,
                    &Email::parse("dara.dummett@example.org")?,
                    &NamePart::parse(&ready.given_name, "first name")?,
                    &NamePart::parse(&ready.family_name, "last name")?,
                    Role::Patient,
                    Some(ready.id),
                    Some(clinic_id),
                    &pw,
                    "demo seed",
                    &meta,
                )
                .await?;
        }
        meta_set(portal, "demo_seeded").await?;
    }
    // The care team, pharmacies and schedules came later than the first demo: a database
    // seeded before them gets them on its next start.
    if meta_get(portal, "demo_seeded").await?.is_some()
        && meta_get(portal, "demo_care_seeded").await?.is_none()
    {
        let clinic_id = default_clinic(portal).await?;
        seed_care(portal, &clinic_id).await?;
        meta_set(portal, "demo_care_seeded").await?;
    }
    // Caregivers came later still.
    if meta_get(portal, "demo_care_seeded").await?.is_some()
        && meta_get(portal, "demo_family_seeded").await?.is_none()
    {
        let clinic_id = default_clinic(portal).await?;
        family::seed_family(portal, &clinic_id).await?;
        meta_set(portal, "demo_family_seeded").await?;
    }

    let demo = meta_get(portal, "demo_seeded").await?.is_some();
    let p = portal.patient_by_mrn(ACTIVATE_MRN).await;
    let mut activation_code = None;
    let (mut activate_name, mut activate_dob) = (String::new(), String::new());
    if demo && let Ok(p) = p {
        activate_name = format!("{} {}", p.given_name, p.family_name);
        activate_dob = p.birth_date.clone();
        let has_account = user_account::Entity::find()
            .filter(user_account::Column::PatientId.eq(p.id.clone()))
            .count(&portal.db)
            .await?
            > 0;
        if !has_account {
            let issued = portal
                .issue_activation_code(&p.id, "demo seed", &meta)
                .await?;
            activation_code = Some(issued.code.display());
        }
    }
    Ok(DemoSignIns {
        ready_username: READY_USERNAME.into(),
        activate_name,
        activate_dob,
        activation_code,
        staff: STAFF
            .iter()
            .map(|(u, _, _, r)| (u.to_string(), *r))
            .collect(),
        family: [
            (
                family::DAUGHTER_USERNAME,
                "caregiver: Emet Stubfield's daughter (results, medications, messages, appointments)",
            ),
            (
                family::PARENT_USERNAME,
                "parent of Emet Fakeworth (8) and of Robin Fakeworth (14)",
            ),
            (
                family::TEEN_USERNAME,
                "Robin Fakeworth, 14, on her own record",
            ),
        ]
        .into_iter()
        .map(|(u, w)| (u.to_owned(), w.to_owned()))
        .collect(),
    })
}

/// A day of work waiting in the demo clinic (`make run`), dated from the day it is first
/// seeded. Separate from [`seed`] so that tests start from a quiet clinic.
pub async fn seed_clinic_day(portal: &Portal) -> Result<()> {
    if meta_get(portal, "demo_family_seeded").await?.is_some()
        && meta_get(portal, "demo_day_seeded").await?.is_none()
    {
        let clinic_id = default_clinic(portal).await?;
        clinic_day::seed_clinic_day(portal, &clinic_id).await?;
        meta_set(portal, "demo_day_seeded").await?;
    }
    Ok(())
}
