//! The `message_thread` table: a conversation between a patient and a care team.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "message_thread")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub team_id: String,
    pub clinician_id: Option<String>,
    pub topic: String,
    pub subject: String,
    pub status: String,
    pub assigned_to: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub last_message_at: i64,
    pub last_from: String,
    pub patient_read_at: Option<i64>,
    pub staff_read_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
    pub sensitivity: Option<String>,
    /// Who decided the sensitivity by hand (a clinician); `None` when it came from the codes.
    pub sensitivity_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
