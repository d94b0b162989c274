//! The `patient` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "patient")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub clinic_id: String,
    pub mrn: String,
    pub mrn_system: Option<String>,
    pub fhir_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: String,
    pub sex: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub resource: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
