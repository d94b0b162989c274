//! The `appointment` table: booked (and cancelled) visits.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "appointment")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub clinician_id: String,
    pub location_id: String,
    pub visit_type_id: String,
    pub start_at: i64,
    pub end_at: i64,
    pub status: String,
    pub reason: Option<String>,
    pub booked_by: String,
    pub booked_at: i64,
    pub cancelled_at: Option<i64>,
    pub cancelled_by: Option<String>,
    pub reminder_sent_at: Option<i64>,
    pub slot_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
