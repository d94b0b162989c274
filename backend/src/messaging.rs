//! Secure messages between a patient and a care team: threads, replies, attachments, the
//! staff inbox (unassigned / mine / closed) and the "a message is waiting" emails.

use crate::access::{PatientAccess, StaffAccess};
use crate::audit::{self, Entry, Outcome};
use crate::clinic::{clinic_of, clinic_staff, names, patient_names};
use crate::records::sensitivity_ok;
use crate::storage::entity::{
    care_team, message, message_attachment, message_thread, user_account,
};
use crate::{Error, Portal, Result, new_id};
use domain::care::{
    ATTACHMENT_BYTES_MAX, ATTACHMENTS_MAX, AttachmentView, InboxView, MessageText, MessageView,
    SUBJECT_MAX, TeamView, ThreadRow, ThreadView, Topic, segments, short_text,
};
use domain::session::Role;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use sha2::Digest;
use std::collections::HashMap;

pub const SIDE_PATIENT: &str = "patient";
pub const SIDE_STAFF: &str = "staff";
const OPEN: &str = "open";
const CLOSED: &str = "closed";

/// Staff who answer messages.
pub const INBOX_ROLES: &[Role] = domain::session::staff_roles::INBOX;

/// A file a person attached, as it arrived.
pub struct Upload {
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// A checked attachment: its type comes from its content, never from its name.
#[derive(Debug)]
pub struct Attachment {
    pub filename: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// The types we accept, told by their first bytes.
fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(b"%PDF-") {
        Some(("application/pdf", "pdf"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(("image/png", "png"))
    } else {
        None
    }
}

/// Checks uploads: at most three, each a PDF, JPEG or PNG by content, 5 MB at most. The
/// stored name is the file's own name without any path, with the extension of its real type.
pub fn check_uploads(uploads: Vec<Upload>) -> Result<Vec<Attachment>> {
    let uploads: Vec<Upload> = uploads
        .into_iter()
        .filter(|u| !(u.bytes.is_empty() && u.filename.trim().is_empty()))
        .collect();
    if uploads.len() > ATTACHMENTS_MAX {
        return Err(Error::Invalid(format!(
            "Attach at most {ATTACHMENTS_MAX} files to one message."
        )));
    }
    let mut out = Vec::new();
    for u in uploads {
        let shown = clean_name(&u.filename);
        if u.bytes.is_empty() {
            return Err(Error::Invalid(format!("The file {shown} is empty.")));
        }
        if u.bytes.len() > ATTACHMENT_BYTES_MAX {
            return Err(Error::Invalid(format!(
                "The file {shown} is {}; files can be at most {}.",
                size_label(u.bytes.len() as i64),
                size_label(ATTACHMENT_BYTES_MAX as i64)
            )));
        }
        let Some((content_type, ext)) = sniff(&u.bytes) else {
            return Err(Error::Invalid(format!(
                "The file {shown} is not a PDF, JPEG or PNG. Attach one of those types."
            )));
        };
        let stem = match shown.rsplit_once('.') {
            Some((s, _)) if !s.is_empty() => s.to_owned(),
            _ => shown.clone(),
        };
        out.push(Attachment {
            filename: format!("{stem}.{ext}"),
            content_type,
            bytes: u.bytes,
        });
    }
    Ok(out)
}

/// The last path part, without control or path characters, at most 80 characters.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '"' | '/' | '\\' | ':' | '*' | '?' | '<' | '>' | '|')
        })
        .take(80)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "attachment".into()
    } else {
        cleaned
    }
}

pub fn size_label(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", ((bytes + 1023) / 1024).max(1))
    }
}

fn response_text(hours: i32) -> String {
    match hours {
        h if h <= 24 => "within 1 business day".into(),
        h if h % 24 == 0 => format!("within {} business days", h / 24),
        h => format!("within {h} business hours"),
    }
}

impl Portal {
    /// The teams the patient can write to, with their clinicians.
    pub async fn care_teams(&self, access: &PatientAccess) -> Result<Vec<TeamView>> {
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        let teams = care_team::Entity::find()
            .filter(care_team::Column::ClinicId.eq(clinic.clone()))
            .order_by_asc(care_team::Column::Name)
            .all(&self.db)
            .await?;
        let clinicians = clinic_staff(&self.db, &clinic, &[Role::Clinician]).await?;
        let names = names(&self.db, clinicians.iter().map(|c| c.id.clone()).collect()).await?;
        Ok(teams
            .into_iter()
            .map(|t| TeamView {
                id: t.id,
                name: t.name,
                response: response_text(t.response_hours),
                clinicians: clinicians
                    .iter()
                    .map(|c| (c.id.clone(), names[&c.id].clone()))
                    .collect(),
            })
            .collect())
    }

    /// Starts a thread with a team (or one of its clinicians) and its first message.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_thread(
        &self,
        access: &PatientAccess,
        team_id: &str,
        clinician_id: Option<&str>,
        topic: &str,
        subject: &str,
        body: &str,
        uploads: Vec<Upload>,
    ) -> Result<String> {
        let topic = Topic::parse(topic)?;
        let subject = short_text(subject, "a subject", 1, SUBJECT_MAX)?;
        let body = MessageText::parse(body)?;
        let files = check_uploads(uploads)?;
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        let team = care_team::Entity::find_by_id(team_id.to_owned())
            .one(&self.db)
            .await?
            .filter(|t| t.clinic_id == clinic)
            .ok_or_else(|| Error::Invalid("Choose a care team to write to.".into()))?;
        let clinician = match clinician_id.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(
                clinic_staff(&self.db, &clinic, &[Role::Clinician])
                    .await?
                    .into_iter()
                    .find(|u| u.id == c)
                    .ok_or_else(|| {
                        Error::Invalid(
                            "Choose a clinician of your care team, or the whole team.".into(),
                        )
                    })?
                    .id,
            ),
        };
        let now = self.now();
        let id = new_id();
        let txn = self.db.begin().await?;
        message_thread::ActiveModel {
            id: Set(id.clone()),
            patient_id: Set(access.patient_id().to_owned()),
            team_id: Set(team.id.clone()),
            clinician_id: Set(clinician.clone()),
            topic: Set(topic.key().into()),
            subject: Set(subject),
            status: Set(OPEN.into()),
            assigned_to: Set(clinician.clone()),
            created_by: Set(access.actor().to_owned()),
            created_at: Set(now),
            last_message_at: Set(now),
            last_from: Set(SIDE_PATIENT.into()),
            patient_read_at: Set(Some(now)),
            staff_read_at: Set(None),
            sensitivity: Set(None),
            sensitivity_by: Set(None),
            closed_at: Set(None),
            closed_by: Set(None),
        }
        .insert(&txn)
        .await?;
        let n = insert_message(&txn, &id, access.actor(), SIDE_PATIENT, &body, files, now).await?;
        audit::record(
            &txn,
            now,
            access.meta(),
            access
                .entry("message.sent", "messages")
                .object(id.clone())
                .detail(format!("new thread, {n} attachment(s)")),
        )
        .await?;
        txn.commit().await?;
        self.tell_team(&clinic, clinician.as_deref()).await;
        Ok(id)
    }

    /// Emails the clinician a thread is for, or else everyone who answers the team's
    /// messages. The email carries no health information.
    async fn tell_team(&self, clinic: &str, to: Option<&str>) {
        let staff = match clinic_staff(&self.db, clinic, INBOX_ROLES).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "message notice: staff list failed");
                return;
            }
        };
        for u in staff.iter().filter(|u| to.is_none_or(|t| t == u.id)) {
            self.notify(
                u,
                "a patient message is waiting",
                "A patient message is waiting in the team inbox of the staff console. Sign in to read it.",
            )
            .await;
        }
    }

    /// The patient's threads, newest activity first.
    pub async fn patient_threads(&self, access: &PatientAccess) -> Result<Vec<ThreadRow>> {
        let threads = message_thread::Entity::find()
            .filter(message_thread::Column::PatientId.eq(access.patient_id()))
            .filter(sensitivity_ok(access, message_thread::Column::Sensitivity))
            .order_by_desc(message_thread::Column::LastMessageAt)
            .all(&self.db)
            .await?;
        access
            .audit(self, "message.list", "messages", None, Outcome::Ok)
            .await?;
        self.rows(threads, Side::Patient).await
    }

    /// Threads with a staff message the patient has not opened yet.
    pub async fn unread_threads(&self, access: &PatientAccess) -> Result<u64> {
        Ok(message_thread::Entity::find()
            .filter(message_thread::Column::PatientId.eq(access.patient_id()))
            .filter(sensitivity_ok(access, message_thread::Column::Sensitivity))
            .filter(unread_for_patient())
            .count(&self.db)
            .await?)
    }

    async fn rows(
        &self,
        threads: Vec<message_thread::Model>,
        side: Side,
    ) -> Result<Vec<ThreadRow>> {
        let teams: HashMap<String, String> = care_team::Entity::find()
            .filter(care_team::Column::Id.is_in(threads.iter().map(|t| t.team_id.clone())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        let ids: Vec<String> = threads
            .iter()
            .flat_map(|t| [t.clinician_id.clone(), t.assigned_to.clone()])
            .flatten()
            .collect();
        let people = names(&self.db, ids).await?;
        let patients = if side == Side::Staff {
            patient_names(
                &self.db,
                threads.iter().map(|t| t.patient_id.clone()).collect(),
            )
            .await?
        } else {
            HashMap::new()
        };
        let tz = match threads.first() {
            Some(t) => {
                self.clinic_zone(&clinic_of(&self.db, &t.patient_id).await?)
                    .await?
            }
            None => crate::scheduling::Zone::named(crate::scheduling::DEFAULT_ZONE)?,
        };
        Ok(threads
            .into_iter()
            .map(|t| {
                let team = teams.get(&t.team_id).cloned().unwrap_or_default();
                let with = match t.clinician_id.as_ref().and_then(|c| people.get(c)) {
                    Some(c) => format!("{c} ({team})"),
                    None => team,
                };
                let unread = match side {
                    Side::Patient => {
                        t.last_from == SIDE_STAFF
                            && t.patient_read_at.is_none_or(|r| r < t.last_message_at)
                    }
                    Side::Staff => {
                        t.last_from == SIDE_PATIENT
                            && t.staff_read_at.is_none_or(|r| r < t.last_message_at)
                    }
                };
                ThreadRow {
                    subject: t.subject,
                    topic: Topic::parse(&t.topic)
                        .map(|x| x.label())
                        .unwrap_or("Something else")
                        .into(),
                    with,
                    patient: patients.get(&t.patient_id).cloned(),
                    assigned: t.assigned_to.as_ref().and_then(|a| people.get(a)).cloned(),
                    last_at: tz.format(t.last_message_at),
                    unread,
                    closed: t.status == CLOSED,
                    id: t.id,
                }
            })
            .collect())
    }

    async fn view(
        &self,
        t: message_thread::Model,
        side: Side,
        reader: &str,
        assignable: Vec<(String, String)>,
    ) -> Result<ThreadView> {
        let team = care_team::Entity::find_by_id(t.team_id.clone())
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        let msgs = message::Entity::find()
            .filter(message::Column::ThreadId.eq(t.id.clone()))
            .order_by_asc(message::Column::CreatedAt)
            .order_by_asc(message::Column::Id)
            .all(&self.db)
            .await?;
        let files = message_attachment::Entity::find()
            .select_only()
            .column(message_attachment::Column::Id)
            .column(message_attachment::Column::MessageId)
            .column(message_attachment::Column::Filename)
            .column(message_attachment::Column::Size)
            .filter(message_attachment::Column::MessageId.is_in(msgs.iter().map(|m| m.id.clone())))
            .into_tuple::<(String, String, String, i64)>()
            .all(&self.db)
            .await?;
        let people = names(
            &self.db,
            msgs.iter().map(|m| m.author_user_id.clone()).collect(),
        )
        .await?;
        // The patient's own account: a patient-side message by anyone else was written by a
        // caregiver acting for them, and says so to both sides.
        let own: Option<String> = user_account::Entity::find()
            .select_only()
            .column(user_account::Column::Id)
            .filter(user_account::Column::PatientId.eq(t.patient_id.clone()))
            .into_tuple()
            .one(&self.db)
            .await?;
        let tz = self
            .clinic_zone(&clinic_of(&self.db, &t.patient_id).await?)
            .await?;
        let messages = msgs
            .into_iter()
            .map(|m| {
                let mine = match side {
                    Side::Patient => m.author_side == SIDE_PATIENT,
                    Side::Staff => m.author_user_id == reader,
                };
                MessageView {
                    author: {
                        let name = people.get(&m.author_user_id).cloned().unwrap_or_default();
                        let by_caregiver = m.author_side == SIDE_PATIENT
                            && own.as_deref() != Some(m.author_user_id.as_str());
                        if side == Side::Patient && m.author_user_id == reader {
                            "You".into()
                        } else if by_caregiver {
                            format!("{name} (caregiver)")
                        } else {
                            name
                        }
                    },
                    mine,
                    at: tz.format(m.created_at),
                    body: segments(&m.body),
                    attachments: files
                        .iter()
                        .filter(|f| f.1 == m.id)
                        .map(|f| AttachmentView {
                            id: f.0.clone(),
                            filename: f.2.clone(),
                            size: size_label(f.3),
                        })
                        .collect(),
                    id: m.id,
                }
            })
            .collect();
        // The clinic's sensitivity decision is shown to staff, who may change it.
        let sensitivity = match side {
            Side::Staff => t
                .sensitivity
                .as_deref()
                .and_then(domain::proxy::Sensitivity::parse),
            Side::Patient => None,
        };
        let row = self
            .rows(vec![t], side)
            .await?
            .pop()
            .ok_or(Error::NotFound)?;
        Ok(ThreadView {
            row,
            response: response_text(team.response_hours),
            messages,
            assignable,
            sensitivity,
            may_mark: false,
        })
    }

    async fn own_thread(&self, access: &PatientAccess, id: &str) -> Result<message_thread::Model> {
        let t = message_thread::Entity::find_by_id(id.to_owned())
            .filter(sensitivity_ok(access, message_thread::Column::Sensitivity))
            .one(&self.db)
            .await?
            .filter(|t| t.patient_id == access.patient_id());
        match t {
            Some(t) => Ok(t),
            None => Err(access
                .not_found(self, "message.read", "messages", id)
                .await?),
        }
    }

    /// One of the patient's threads; opening it marks it read (audited).
    pub async fn patient_thread(&self, access: &PatientAccess, id: &str) -> Result<ThreadView> {
        let t = self.own_thread(access, id).await?;
        let now = self.now();
        message_thread::Entity::update_many()
            .col_expr(message_thread::Column::PatientReadAt, Expr::value(now))
            .filter(message_thread::Column::Id.eq(t.id.clone()))
            .exec(&self.db)
            .await?;
        access
            .audit(self, "message.read", "messages", Some(&t.id), Outcome::Ok)
            .await?;
        let view = self.view(t, Side::Patient, access.actor(), vec![]).await?;
        Ok(ThreadView {
            row: ThreadRow {
                unread: false,
                ..view.row
            },
            ..view
        })
    }

    /// The patient's reply. A closed thread takes no more replies: a new message starts one.
    pub async fn patient_reply(
        &self,
        access: &PatientAccess,
        id: &str,
        body: &str,
        uploads: Vec<Upload>,
    ) -> Result<()> {
        let body = MessageText::parse(body)?;
        let files = check_uploads(uploads)?;
        let t = self.own_thread(access, id).await?;
        if t.status == CLOSED {
            return Err(Error::Invalid(
                "Your care team closed this conversation. Start a new message instead.".into(),
            ));
        }
        let now = self.now();
        let txn = self.db.begin().await?;
        let n =
            insert_message(&txn, &t.id, access.actor(), SIDE_PATIENT, &body, files, now).await?;
        message_thread::Entity::update_many()
            .col_expr(message_thread::Column::LastMessageAt, Expr::value(now))
            .col_expr(message_thread::Column::LastFrom, Expr::value(SIDE_PATIENT))
            .col_expr(message_thread::Column::PatientReadAt, Expr::value(now))
            .filter(message_thread::Column::Id.eq(t.id.clone()))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            now,
            access.meta(),
            access
                .entry("message.sent", "messages")
                .object(t.id.clone())
                .detail(format!("reply, {n} attachment(s)")),
        )
        .await?;
        txn.commit().await?;
        let clinic = clinic_of(&self.db, access.patient_id()).await?;
        self.tell_team(&clinic, t.assigned_to.as_deref()).await;
        Ok(())
    }

    /// An attachment of one of the patient's threads, for download (audited).
    pub async fn patient_attachment(
        &self,
        access: &PatientAccess,
        id: &str,
    ) -> Result<message_attachment::Model> {
        let (a, t) = self.attachment_and_thread(id).await?;
        // A thread marked sensitive is not there for a parent of a 12 to 17 year old.
        if t.patient_id != access.patient_id()
            || (access.hides_sensitive() && t.sensitivity.is_some())
        {
            return Err(access
                .not_found(self, "message.attachment", "messages", id)
                .await?);
        }
        access
            .audit(
                self,
                "message.attachment",
                "messages",
                Some(id),
                Outcome::Ok,
            )
            .await?;
        Ok(a)
    }

    async fn attachment_and_thread(
        &self,
        id: &str,
    ) -> Result<(message_attachment::Model, message_thread::Model)> {
        let a = message_attachment::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        let m = message::Entity::find_by_id(a.message_id.clone())
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        let t = message_thread::Entity::find_by_id(m.thread_id)
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound)?;
        Ok((a, t))
    }

    // ---- The clinic's side ----

    async fn clinic_threads(&self, staff: &StaffAccess) -> Result<Vec<String>> {
        Ok(care_team::Entity::find()
            .filter(care_team::Column::ClinicId.eq(staff.clinic_id()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect())
    }

    /// The team inbox: unassigned open threads, open threads assigned to the reader, or
    /// closed ones; newest first.
    pub async fn inbox(&self, staff: &StaffAccess, view: InboxView) -> Result<Vec<ThreadRow>> {
        staff.require(INBOX_ROLES)?;
        let teams = self.clinic_threads(staff).await?;
        let mut q =
            message_thread::Entity::find().filter(message_thread::Column::TeamId.is_in(teams));
        q = match view {
            InboxView::Unassigned => q
                .filter(message_thread::Column::Status.eq(OPEN))
                .filter(message_thread::Column::AssignedTo.is_null()),
            InboxView::Mine => q
                .filter(message_thread::Column::Status.eq(OPEN))
                .filter(message_thread::Column::AssignedTo.eq(staff.user_id())),
            InboxView::Closed => q.filter(message_thread::Column::Status.eq(CLOSED)),
        };
        let threads = q
            .order_by_desc(message_thread::Column::LastMessageAt)
            .limit(200)
            .all(&self.db)
            .await?;
        self.record_audit_list(
            self.now(),
            staff.meta(),
            staff.entry("message.inbox").category("messages"),
            &format!("inbox {}", view.key()),
            threads.iter().map(|t| t.patient_id.as_str()),
        )
        .await?;
        self.rows(threads, Side::Staff).await
    }

    /// Counts for the console's home: unassigned, and assigned to the reader.
    pub async fn inbox_counts(&self, staff: &StaffAccess) -> Result<(u64, u64)> {
        let teams = self.clinic_threads(staff).await?;
        let open = || {
            message_thread::Entity::find()
                .filter(message_thread::Column::TeamId.is_in(teams.clone()))
                .filter(message_thread::Column::Status.eq(OPEN))
        };
        let unassigned = open()
            .filter(message_thread::Column::AssignedTo.is_null())
            .count(&self.db)
            .await?;
        let mine = open()
            .filter(message_thread::Column::AssignedTo.eq(staff.user_id()))
            .count(&self.db)
            .await?;
        Ok((unassigned, mine))
    }

    pub(crate) async fn clinic_thread(
        &self,
        staff: &StaffAccess,
        id: &str,
    ) -> Result<message_thread::Model> {
        staff.require(INBOX_ROLES)?;
        let teams = self.clinic_threads(staff).await?;
        let t = message_thread::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .filter(|t| teams.contains(&t.team_id));
        match t {
            Some(t) => Ok(t),
            None => {
                self.record_audit(
                    self.now(),
                    staff.meta(),
                    Entry::new("message.read", Outcome::Denied)
                        .actor(staff.user_id().to_owned())
                        .category("messages")
                        .object(id.to_owned()),
                )
                .await?;
                Err(Error::NotFound)
            }
        }
    }

    /// A thread, for staff of its clinic (audited as a read of the patient's messages).
    pub async fn staff_thread(&self, staff: &StaffAccess, id: &str) -> Result<ThreadView> {
        let t = self.clinic_thread(staff, id).await?;
        let now = self.now();
        message_thread::Entity::update_many()
            .col_expr(message_thread::Column::StaffReadAt, Expr::value(now))
            .filter(message_thread::Column::Id.eq(t.id.clone()))
            .exec(&self.db)
            .await?;
        self.record_audit(
            now,
            staff.meta(),
            staff
                .entry("message.read")
                .patient(t.patient_id.clone())
                .category("messages")
                .object(t.id.clone()),
        )
        .await?;
        let staff_list = clinic_staff(&self.db, staff.clinic_id(), INBOX_ROLES).await?;
        let names = names(&self.db, staff_list.iter().map(|u| u.id.clone()).collect()).await?;
        let assignable = staff_list
            .iter()
            .map(|u| (u.id.clone(), names[&u.id].clone()))
            .collect();
        let v = self
            .view(t, Side::Staff, staff.user_id(), assignable)
            .await?;
        Ok(ThreadView {
            row: ThreadRow {
                unread: false,
                ..v.row
            },
            may_mark: staff.role() == Role::Clinician,
            ..v
        })
    }

    /// A staff reply: the thread is assigned to the writer if it was not, and the patient is
    /// told by email that a message is waiting.
    pub async fn staff_reply(
        &self,
        staff: &StaffAccess,
        id: &str,
        body: &str,
        uploads: Vec<Upload>,
    ) -> Result<()> {
        let body = MessageText::parse(body)?;
        let files = check_uploads(uploads)?;
        let t = self.clinic_thread(staff, id).await?;
        if t.status == CLOSED {
            return Err(Error::Invalid(
                "This conversation is closed. Reopen it by asking the patient to write again."
                    .into(),
            ));
        }
        let now = self.now();
        let txn = self.db.begin().await?;
        let n = insert_message(&txn, &t.id, staff.user_id(), SIDE_STAFF, &body, files, now).await?;
        let mut q = message_thread::Entity::update_many()
            .col_expr(message_thread::Column::LastMessageAt, Expr::value(now))
            .col_expr(message_thread::Column::LastFrom, Expr::value(SIDE_STAFF))
            .col_expr(message_thread::Column::StaffReadAt, Expr::value(now));
        if t.assigned_to.is_none() {
            q = q.col_expr(
                message_thread::Column::AssignedTo,
                Expr::value(staff.user_id().to_owned()),
            );
        }
        let updated = q
            .filter(message_thread::Column::Id.eq(t.id.clone()))
            .filter(message_thread::Column::Status.eq(OPEN))
            .exec(&txn)
            .await?
            .rows_affected;
        if updated == 0 {
            return Err(Error::Invalid(
                "This conversation was closed a moment ago. Your reply was not sent.".into(),
            ));
        }
        audit::record(
            &txn,
            now,
            staff.meta(),
            staff
                .entry("message.sent")
                .patient(t.patient_id.clone())
                .category("messages")
                .object(t.id.clone())
                .detail(format!("reply, {n} attachment(s)")),
        )
        .await?;
        txn.commit().await?;
        if let Some(u) = user_account::Entity::find()
            .filter(user_account::Column::PatientId.eq(t.patient_id.clone()))
            .one(&self.db)
            .await?
        {
            self.notify(
                &u,
                "you have a new message",
                "Your care team sent you a message. Sign in to the portal to read it.",
            )
            .await;
        }
        Ok(())
    }

    /// Assigns a thread to a member of the team inbox (or to nobody, with an empty id).
    pub async fn assign_thread(&self, staff: &StaffAccess, id: &str, to: &str) -> Result<()> {
        let t = self.clinic_thread(staff, id).await?;
        let to = if to.is_empty() {
            None
        } else {
            Some(
                clinic_staff(&self.db, staff.clinic_id(), INBOX_ROLES)
                    .await?
                    .into_iter()
                    .find(|u| u.id == to)
                    .ok_or_else(|| Error::Invalid("Choose someone of the care team.".into()))?
                    .id,
            )
        };
        let now = self.now();
        let txn = self.db.begin().await?;
        message_thread::Entity::update_many()
            .col_expr(message_thread::Column::AssignedTo, Expr::value(to.clone()))
            .filter(message_thread::Column::Id.eq(t.id.clone()))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            now,
            staff.meta(),
            staff
                .entry("message.assigned")
                .patient(t.patient_id.clone())
                .category("messages")
                .object(t.id.clone())
                .detail(to.unwrap_or_else(|| "nobody".into())),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn close_thread(&self, staff: &StaffAccess, id: &str) -> Result<()> {
        let t = self.clinic_thread(staff, id).await?;
        if t.status == CLOSED {
            return Err(Error::Invalid(
                "This conversation is already closed.".into(),
            ));
        }
        let now = self.now();
        let txn = self.db.begin().await?;
        message_thread::Entity::update_many()
            .col_expr(message_thread::Column::Status, Expr::value(CLOSED))
            .col_expr(message_thread::Column::ClosedAt, Expr::value(now))
            .col_expr(
                message_thread::Column::ClosedBy,
                Expr::value(staff.user_id().to_owned()),
            )
            .filter(message_thread::Column::Id.eq(t.id.clone()))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            now,
            staff.meta(),
            staff
                .entry("message.closed")
                .patient(t.patient_id.clone())
                .category("messages")
                .object(t.id.clone()),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// An attachment of a thread of the staff member's clinic (audited).
    pub async fn staff_attachment(
        &self,
        staff: &StaffAccess,
        id: &str,
    ) -> Result<message_attachment::Model> {
        let (a, t) = self.attachment_and_thread(id).await?;
        let t = self.clinic_thread(staff, &t.id).await?;
        self.record_audit(
            self.now(),
            staff.meta(),
            staff
                .entry("message.attachment")
                .patient(t.patient_id)
                .category("messages")
                .object(a.id.clone()),
        )
        .await?;
        Ok(a)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Patient,
    Staff,
}

fn unread_for_patient() -> Condition {
    Condition::all()
        .add(message_thread::Column::LastFrom.eq(SIDE_STAFF))
        .add(
            Condition::any()
                .add(message_thread::Column::PatientReadAt.is_null())
                .add(Expr::cust("patient_read_at < last_message_at")),
        )
}

async fn insert_message<C: ConnectionTrait>(
    db: &C,
    thread_id: &str,
    author: &str,
    side: &str,
    body: &MessageText,
    files: Vec<Attachment>,
    now: i64,
) -> Result<usize> {
    let id = new_id();
    message::ActiveModel {
        id: Set(id.clone()),
        thread_id: Set(thread_id.to_owned()),
        author_user_id: Set(author.to_owned()),
        author_side: Set(side.to_owned()),
        body: Set(body.as_str().to_owned()),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    let n = files.len();
    for f in files {
        message_attachment::ActiveModel {
            id: Set(new_id()),
            message_id: Set(id.clone()),
            filename: Set(f.filename),
            content_type: Set(f.content_type.to_owned()),
            size: Set(f.bytes.len() as i64),
            sha256: Set(hex::encode(sha2::Sha256::digest(&f.bytes))),
            content: Set(f.bytes),
        }
        .insert(db)
        .await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(name: &str, bytes: &[u8]) -> Upload {
        Upload {
            filename: name.into(),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn an_attachment_type_comes_from_its_content_not_its_name() {
        let ok = check_uploads(vec![up("../../scan.exe", b"%PDF-1.7 rest")]).unwrap();
        assert_eq!(ok[0].content_type, "application/pdf");
        assert_eq!(ok[0].filename, "scan.pdf");
        let png = check_uploads(vec![up(
            "rash.pdf",
            &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0],
        )])
        .unwrap();
        assert_eq!(png[0].filename, "rash.png");
        let err = check_uploads(vec![up("note.pdf", b"<script>alert(1)</script>")]).unwrap_err();
        assert!(err.to_string().contains("not a PDF, JPEG or PNG"), "{err}");
    }

    #[test]
    fn attachments_are_capped_in_size_and_number() {
        let mut big = b"%PDF-".to_vec();
        big.resize(ATTACHMENT_BYTES_MAX + 1, b'x');
        let err = check_uploads(vec![up("big.pdf", &big)]).unwrap_err();
        assert!(err.to_string().contains("at most 5.0 MB"), "{err}");
        let mut exact = b"%PDF-".to_vec();
        exact.resize(ATTACHMENT_BYTES_MAX, b'x');
        assert!(check_uploads(vec![up("ok.pdf", &exact)]).is_ok());
        let four = (0..4).map(|i| up(&format!("{i}.pdf"), b"%PDF-1")).collect();
        assert!(check_uploads(four).is_err());
        assert!(check_uploads(vec![up("empty.pdf", b"")]).is_err());
        // An empty file input (nothing chosen) is no attachment at all.
        assert!(check_uploads(vec![up("", b"")]).unwrap().is_empty());
    }
}
