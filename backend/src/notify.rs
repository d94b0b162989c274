//! Outgoing email: SMTP when configured, otherwise the outbox table (`mhc outbox` prints it).

use crate::storage::entity::outbox;
use crate::{Error, Portal, Result, new_id};
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait, QueryOrder, QuerySelect,
};
use std::sync::Arc;

/// A file sent with a message (a transmitted health summary).
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<()>;
    async fn send_with_attachment(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        attachment: &Attachment,
    ) -> Result<()>;
}

/// Keeps messages in the database instead of sending them (development and tests).
pub struct OutboxMailer {
    db: DatabaseConnection,
    clock: Arc<dyn crate::Clock>,
}

impl OutboxMailer {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn crate::Clock>) -> Self {
        Self { db, clock }
    }

    async fn keep(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        attachment: Option<&Attachment>,
    ) -> Result<()> {
        use base64::Engine;
        outbox::ActiveModel {
            id: Set(new_id()),
            created_at: Set(self.clock.now_ms()),
            recipient: Set(to.to_owned()),
            subject: Set(subject.to_owned()),
            body: Set(body.to_owned()),
            attachment_name: Set(attachment.map(|a| a.filename.clone())),
            attachment: Set(
                attachment.map(|a| base64::engine::general_purpose::STANDARD.encode(&a.bytes))
            ),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<()> {
        self.keep(to, subject, body, None).await
    }
    async fn send_with_attachment(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        attachment: &Attachment,
    ) -> Result<()> {
        self.keep(to, subject, body, Some(attachment)).await
    }
}

/// Sends over SMTP with lettre (`smtp://host:port`, `smtps://…`, `?tls=required`).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn from_url(url: &str, from: &str) -> Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| Error::Unexpected(format!("SMTP URL: {e}")))?
            .build();
        let from = from
            .parse()
            .map_err(|e| Error::Unexpected(format!("mail sender address: {e}")))?;
        Ok(Self { transport, from })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<()> {
        let msg = self
            .builder(to, subject)?
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| Error::Unexpected(format!("build message: {e}")))?;
        self.deliver(msg).await
    }
    async fn send_with_attachment(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        attachment: &Attachment,
    ) -> Result<()> {
        use lettre::message::{MultiPart, SinglePart};
        let kind = ContentType::parse(attachment.content_type)
            .map_err(|e| Error::Unexpected(format!("attachment type: {e}")))?;
        let msg = self
            .builder(to, subject)?
            .multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(body.to_owned()))
                    .singlepart(
                        lettre::message::Attachment::new(attachment.filename.clone())
                            .body(attachment.bytes.clone(), kind),
                    ),
            )
            .map_err(|e| Error::Unexpected(format!("build message: {e}")))?;
        self.deliver(msg).await
    }
}

impl SmtpMailer {
    fn builder(&self, to: &str, subject: &str) -> Result<lettre::message::MessageBuilder> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| Error::Unexpected("the recipient address is not valid for SMTP".into()))?;
        Ok(Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject))
    }

    async fn deliver(&self, msg: Message) -> Result<()> {
        self.transport.send(msg).await.map_err(|e| {
            Error::Unexpected(format!("SMTP send: {}", redact_addresses(&e.to_string())))
        })?;
        Ok(())
    }
}

/// Text messages. No SMS provider is wired in yet: the outbox implementation keeps them in
/// the database (`mhc outbox` prints them), which is what development and tests use.
#[async_trait::async_trait]
pub trait SmsSender: Send + Sync {
    async fn send_sms(&self, to_e164: &str, body: &str) -> Result<()>;
}

#[async_trait::async_trait]
impl SmsSender for OutboxMailer {
    async fn send_sms(&self, to_e164: &str, body: &str) -> Result<()> {
        self.send(&format!("sms:{to_e164}"), "Text message", body)
            .await
    }
}

/// Removes email addresses from a text bound for the log (SMTP replies often quote them).
pub fn redact_addresses(text: &str) -> String {
    text.split(' ')
        .map(|w| if w.contains('@') { "<address>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Portal {
    /// The newest `limit` messages in the outbox, newest last (the operator's `mhc outbox`).
    pub async fn outbox(&self, limit: u64) -> Result<Vec<outbox::Model>> {
        let mut rows = outbox::Entity::find()
            .order_by_desc(outbox::Column::CreatedAt)
            .order_by_desc(outbox::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.reverse();
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_never_reach_the_log() {
        let r = super::redact_addresses("550 5.1.1 <dara@example.org>: Recipient address rejected");
        assert_eq!(r, "550 5.1.1 <address> Recipient address rejected");
    }
}
