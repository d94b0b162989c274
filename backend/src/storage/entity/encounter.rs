//! The `encounter` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "encounter")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub fhir_id: String,
    pub status: String,
    pub class_code: Option<String>,
    pub type_text: Option<String>,
    pub reason: Option<String>,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    pub resource: Option<String>,
    pub practitioner_ref: Option<String>,
    pub location_ref: Option<String>,
    pub organization_ref: Option<String>,
    pub diagnosis_refs: Option<String>,
    pub sensitivity: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
