//! The `diagnostic_report` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "diagnostic_report")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub fhir_id: String,
    pub code: Option<String>,
    pub name: String,
    pub category: Option<String>,
    pub status: String,
    pub effective_at: Option<i64>,
    pub issued_at: Option<i64>,
    pub released_at: Option<i64>,
    pub resource: Option<String>,
    pub encounter_ref: Option<String>,
    pub sensitivity: Option<String>,
    /// A clinician's hold: hidden from the patient until released.
    pub held_at: Option<i64>,
    pub held_by: Option<String>,
    pub hold_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
