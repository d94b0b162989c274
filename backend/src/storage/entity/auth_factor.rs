//! The `auth_factor` table: enrolled second factors.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_factor")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub label: String,
    pub secret_enc: Option<String>,
    pub last_step: Option<i64>,
    pub credential_id: Option<String>,
    pub credential: Option<String>,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
