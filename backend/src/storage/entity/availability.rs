//! The `availability` table: weekly availability templates of clinicians.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "availability")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub clinic_id: String,
    pub clinician_id: String,
    pub location_id: String,
    pub visit_type_id: String,
    pub weekday: i32,
    pub start_minute: i32,
    pub end_minute: i32,
    pub created_by: String,
    pub created_at: i64,
    pub removed_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
