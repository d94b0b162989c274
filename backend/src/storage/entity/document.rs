//! The `document` table: visit notes and patient instructions (FHIR DocumentReference).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "document")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub fhir_id: String,
    pub kind: String,
    pub type_text: Option<String>,
    pub title: Option<String>,
    pub status: String,
    pub date_at: Option<i64>,
    pub encounter_ref: Option<String>,
    pub author_ref: Option<String>,
    pub body: Option<String>,
    pub resource: Option<String>,
    pub sensitivity: Option<String>,
    /// A clinician's hold: hidden from the patient until released.
    pub held_at: Option<i64>,
    pub held_by: Option<String>,
    pub hold_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
