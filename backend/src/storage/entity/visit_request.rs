//! The `visit_request` table: requests for a visit when no slot fits.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "visit_request")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub visit_type_id: String,
    pub preferred: String,
    pub note: Option<String>,
    pub status: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub handled_by: Option<String>,
    pub handled_at: Option<i64>,
    pub open_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
