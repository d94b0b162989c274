//! The `medication` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "medication")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub fhir_id: String,
    pub code: Option<String>,
    pub name: String,
    pub status: String,
    pub authored_on: Option<String>,
    pub dosage: Option<String>,
    pub resource: Option<String>,
    pub encounter_ref: Option<String>,
    pub sensitivity: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
