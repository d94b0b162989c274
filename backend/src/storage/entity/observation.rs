//! The `observation` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "observation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub report_id: Option<String>,
    pub fhir_id: String,
    pub category: String,
    pub code: Option<String>,
    pub name: String,
    pub value_num: Option<f64>,
    pub value_text: Option<String>,
    pub unit: Option<String>,
    pub ref_low: Option<f64>,
    pub ref_high: Option<f64>,
    pub ref_text: Option<String>,
    pub interpretation: Option<String>,
    pub status: String,
    pub effective_at: Option<i64>,
    pub released_at: Option<i64>,
    pub resource: Option<String>,
    pub encounter_ref: Option<String>,
    pub held_at: Option<i64>,
    pub held_by: Option<String>,
    pub hold_reason: Option<String>,
    pub reviewed_at: Option<i64>,
    pub sensitivity: Option<String>,
    /// Who decided the sensitivity by hand (a clinician); `None` when it came from the codes.
    pub sensitivity_by: Option<String>,
    /// The result's place in its report's list (0 first), as the lab sent it.
    pub report_position: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
