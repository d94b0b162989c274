//! The `user_account` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "user_account")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub username: String,
    pub email: String,
    pub email_key: String,
    pub email_verified_at: Option<i64>,
    pub password_hash: String,
    pub role: String,
    pub patient_id: Option<String>,
    pub clinic_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub failed_logins: i32,
    pub locked_at: Option<i64>,
    pub suspended_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub phone: Option<String>,
    pub phone_verified_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
