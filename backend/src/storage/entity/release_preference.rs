//! The `release_preference` table: when a patient asked to see a category of results.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "release_preference")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub category: String,
    pub rule: String,
    pub days: Option<i32>,
    pub updated_at: i64,
    pub updated_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
