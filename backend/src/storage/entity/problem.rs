//! The `problem` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "problem")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub fhir_id: String,
    pub code: Option<String>,
    pub code_system: Option<String>,
    pub name: String,
    pub clinical_status: Option<String>,
    pub onset: Option<String>,
    pub resource: Option<String>,
    pub encounter_ref: Option<String>,
    pub sensitivity: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
