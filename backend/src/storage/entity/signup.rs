//! The `signup` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "signup")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub token_hash: String,
    pub patient_id: String,
    pub activation_code_id: String,
    pub user_id: Option<String>,
    pub email_code_hash: Option<String>,
    pub email_code_expires_at: Option<i64>,
    pub email_code_attempts: i32,
    pub created_at: i64,
    pub expires_at: i64,
    pub completed_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
