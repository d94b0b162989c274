//! The `organization` table: clinics and hospitals named in imported records.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "organization")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The clinic whose directory (and EHR feed) the row belongs to.
    pub clinic_id: String,
    pub fhir_id: String,
    pub name: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub resource: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
