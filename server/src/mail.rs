//! The mail worker: sends what the app queued in `mail_outbox`, through SMTP when
//! `SMTP_URL` is set, otherwise into the mail folder (one `.eml` file per message, and a log
//! line with its text so a link can be followed on a machine without mail).
//!
//! Several server processes may run workers on one database: a message is claimed with a
//! conditional update before it is sent, and a claim that outlives a crashed worker runs
//! out. A message is sent at least once (a crash between sending and recording it sends it
//! again), retried with exponential backoff, and given up after [`MAX_ATTEMPTS`].

use std::{path::PathBuf, sync::Arc, time::Duration as StdDuration};

use app::server::entities::mail_outbox;
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use lettre::{
    message::{Mailbox, MultiPart},
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use sea_orm::{
    sea_query::Expr, ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};
use tokio::sync::Notify;

/// Tries per message before it is marked failed (about 6 hours of backoff in all).
pub const MAX_ATTEMPTS: i32 = 12;
/// How long a worker owns a claimed message.
const CLAIM: i64 = 120;
/// Messages claimed per database round trip.
const BATCH: u64 = 100;
/// Messages in flight at once (SMTP connections come from lettre's pool).
const SENDING_AT_ONCE: usize = 8;

/// Where mail goes.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    #[error("SMTP_URL is not a valid SMTP URL: {0}")]
    SmtpUrl(String),
    #[error("MAIL_FROM is not a valid address: {0}")]
    From(String),
    #[error("cannot create the mail folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
}

impl Transport {
    /// SMTP from `smtp_url`, or the folder.
    pub fn from_settings(
        smtp_url: Option<&str>,
        mail_dir: &std::path::Path,
    ) -> Result<Self, MailSetupError> {
        match smtp_url {
            Some(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map(|builder| {
                    Transport::Smtp(builder.timeout(Some(StdDuration::from_secs(20))).build())
                })
                .map_err(|err| MailSetupError::SmtpUrl(err.to_string())),
            None => {
                std::fs::create_dir_all(mail_dir).map_err(|source| MailSetupError::Folder {
                    path: mail_dir.display().to_string(),
                    source,
                })?;
                Ok(Transport::Folder(
                    AsyncFileTransport::new(mail_dir),
                    mail_dir.to_path_buf(),
                ))
            }
        }
    }
}

pub struct MailWorker {
    db: DatabaseConnection,
    transport: Transport,
    from: Mailbox,
    wakeup: Arc<Notify>,
    /// How often to look for mail queued by other processes (or due for a retry).
    poll: StdDuration,
}

impl MailWorker {
    pub fn new(
        db: DatabaseConnection,
        transport: Transport,
        from: &str,
        wakeup: Arc<Notify>,
        poll: StdDuration,
    ) -> Result<Self, MailSetupError> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|err| MailSetupError::From(format!("{from:?}: {err}")))?;
        Ok(Self {
            db,
            transport,
            from,
            wakeup,
            poll,
        })
    }

    /// Runs until the process ends.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.deliver_due(Utc::now()).await {
                    Ok(_) => {}
                    Err(err) => tracing::error!(error = %err, "mail worker cannot read the outbox"),
                }
                tokio::select! {
                    _ = self.wakeup.notified() => {}
                    _ = tokio::time::sleep(self.poll) => {}
                }
            }
        })
    }

    /// Sends every message due at `now`; returns how many were sent.
    ///
    /// Messages are claimed [`BATCH`] at a time in one statement, sent [`SENDING_AT_ONCE`]
    /// at a time, and the sent ones deleted in one statement: a burst of a thousand
    /// invitations costs the database a hundred writes, not two thousand.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> Result<usize, DbErr> {
        let mut sent = 0;
        loop {
            let claimed = self.claim_due(now).await?;
            if claimed.is_empty() {
                return Ok(sent);
            }
            let outcomes: Vec<(mail_outbox::Model, Result<(), String>)> =
                futures::stream::iter(claimed)
                    .map(|message| async move {
                        let outcome = self.send(&message).await;
                        (message, outcome)
                    })
                    .buffer_unordered(SENDING_AT_ONCE)
                    .collect()
                    .await;
            let (delivered, failed): (Vec<_>, Vec<_>) = outcomes
                .into_iter()
                .partition(|(_, outcome)| outcome.is_ok());
            if !delivered.is_empty() {
                // Sent: the rows (and the links inside them) are no longer needed. First,
                // so that a failure below cannot send them again.
                sent += delivered.len();
                mail_outbox::Entity::delete_many()
                    .filter(mail_outbox::Column::Id.is_in(delivered.iter().map(|(m, _)| m.id)))
                    .exec(&self.db)
                    .await?;
            }
            for (message, outcome) in failed {
                if let Err(error) = outcome {
                    self.record_failure(&message, &error, now).await?;
                }
            }
        }
    }

    /// Claims up to [`BATCH`] due messages for this worker and returns them. The claim is
    /// one conditional update, so a message another worker claimed first is not returned.
    async fn claim_due(&self, now: DateTime<Utc>) -> Result<Vec<mail_outbox::Model>, DbErr> {
        let claimable = || {
            Condition::all()
                .add(mail_outbox::Column::SentAt.is_null())
                .add(mail_outbox::Column::FailedAt.is_null())
                .add(mail_outbox::Column::NextAttemptAt.lte(now))
                .add(
                    Condition::any()
                        .add(mail_outbox::Column::ClaimedUntil.is_null())
                        .add(mail_outbox::Column::ClaimedUntil.lt(now)),
                )
        };
        let due = mail_outbox::Entity::find()
            .select_only()
            .column(mail_outbox::Column::Id)
            .filter(claimable())
            .order_by_asc(mail_outbox::Column::NextAttemptAt)
            .order_by_asc(mail_outbox::Column::Id)
            .limit(BATCH)
            .into_query();
        mail_outbox::Entity::update_many()
            .col_expr(
                mail_outbox::Column::ClaimedUntil,
                Expr::value(now + Duration::seconds(CLAIM)),
            )
            .filter(mail_outbox::Column::Id.in_subquery(due))
            // Again here: between the choice and the update another worker may have won.
            .filter(claimable())
            .exec_with_returning(&self.db)
            .await
    }

    async fn record_failure(
        &self,
        message: &mail_outbox::Model,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let attempts = message.attempts + 1;
        let gave_up = attempts >= MAX_ATTEMPTS;
        if gave_up {
            tracing::error!(id = message.id, to = %message.recipient, attempts, error, "giving up on an email");
        } else {
            tracing::warn!(id = message.id, to = %message.recipient, attempts, error, "email not sent; will retry");
        }
        mail_outbox::Entity::update_many()
            .col_expr(mail_outbox::Column::Attempts, Expr::value(attempts))
            .col_expr(mail_outbox::Column::LastError, Expr::value(error))
            .col_expr(
                mail_outbox::Column::NextAttemptAt,
                Expr::value(now + backoff(attempts)),
            )
            .col_expr(
                mail_outbox::Column::ClaimedUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .col_expr(
                mail_outbox::Column::FailedAt,
                Expr::value(gave_up.then_some(now)),
            )
            .filter(mail_outbox::Column::Id.eq(message.id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn send(&self, message: &mail_outbox::Model) -> Result<(), String> {
        let to = message
            .recipient
            .parse::<Mailbox>()
            .map_err(|err| format!("bad recipient: {err}"))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                message.text_body.clone(),
                message.html_body.clone(),
            ))
            .map_err(|err| format!("cannot build the message: {err}"))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(email)
                .await
                .map(|_| ())
                .map_err(|err| err.to_string()),
            Transport::Folder(folder, path) => {
                let id = folder.send(email).await.map_err(|err| err.to_string())?;
                // The log names the file, never the body: its links are secrets, and logs
                // travel further than the mail folder. Open the file to follow a link.
                tracing::info!(
                    "No SMTP server is configured (SMTP_URL), so the email \"{}\" to {} was written to {}",
                    message.subject,
                    message.recipient,
                    path.join(format!("{id}.eml")).display(),
                );
                Ok(())
            }
        }
    }
}

/// The wait after the `attempts`-th failure: 10 s, 20 s, 40 s … capped at 4 hours.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.clamp(1, 16) as u32 - 1;
    Duration::seconds((10_i64 << exponent).min(4 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::seconds(10));
        assert_eq!(backoff(2), Duration::seconds(20));
        assert_eq!(backoff(5), Duration::seconds(160));
        assert_eq!(backoff(12), Duration::hours(4));
        assert_eq!(backoff(100), Duration::hours(4));
    }
}
