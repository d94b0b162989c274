//! The `immunization` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "immunization")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub fhir_id: String,
    pub cvx: Option<String>,
    pub name: String,
    pub status: String,
    pub occurred: Option<String>,
    pub lot: Option<String>,
    pub dose: Option<String>,
    pub performer: Option<String>,
    pub resource: Option<String>,
    pub dose_number: Option<String>,
    pub site: Option<String>,
    pub sensitivity: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
