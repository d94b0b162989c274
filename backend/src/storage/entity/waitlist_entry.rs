//! The `waitlist_entry` table: patients waiting for an earlier slot.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "waitlist_entry")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub visit_type_id: String,
    pub clinician_id: Option<String>,
    pub appointment_id: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub offered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub open_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
