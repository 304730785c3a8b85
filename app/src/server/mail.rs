//! Outgoing email: each message is written to the `mail_outbox` table inside the
//! transaction that causes it, and the server's mail worker sends it later (retrying with
//! backoff). A request never waits for, or fails because of, the SMTP server.

use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;
use sea_orm::{
    sea_query::{Expr, Query, SimpleExpr},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, Set,
};

use super::entities::{mail_outbox, mail_recipient};

/// A message ready for the outbox: both parts say the same thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Messages Orgdesk queues to one address in 24 hours, whoever causes them: beyond this,
/// nobody can use Orgdesk to flood someone's inbox (invitations from many organizations,
/// reset links, notices).
pub const MAX_MESSAGES_PER_RECIPIENT_A_DAY: u64 = 20;

/// Whether a message was queued.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    Yes,
    /// The address had [`MAX_MESSAGES_PER_RECIPIENT_A_DAY`] already: nothing was queued.
    OverDailyLimit,
}

impl Queued {
    /// For a message the person asking waits for (an invitation): not queued is an error
    /// they see, and the caller's transaction rolls back.
    pub fn or_refuse(self) -> Result<(), crate::error::AppError> {
        match self {
            Queued::Yes => Ok(()),
            Queued::OverDailyLimit => Err(crate::error::AppError::TooManyAttempts(format!(
                "This address has had {MAX_MESSAGES_PER_RECIPIENT_A_DAY} emails from Orgdesk in the last 24 hours, the most we send to one address. Try again tomorrow."
            ))),
        }
    }
}

/// Queues `email` unless its address had its day's messages; call
/// [`super::AppState::wake_mail_worker`] after the transaction commits. The message is
/// counted before the count is read; parallel transactions do not see each other's rows,
/// so a burst may pass the limit by the number of requests in flight (a bound, unlike the
/// login throttle, is all a mail limit needs).
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    email: Email,
    now: DateTime<Utc>,
) -> Result<Queued, DbErr> {
    let recipient_key = crate::addresses::normalize_email(&email.to);
    // One statement records the message for its address only while the address is under its
    // daily allowance: INSERT … SELECT … WHERE (messages in the last 24 hours) < the limit.
    let sent_today = Query::select()
        .expr(Expr::col(mail_recipient::Column::Id).count())
        .from(mail_recipient::Entity)
        .and_where(mail_recipient::Column::RecipientKey.eq(recipient_key.clone()))
        .and_where(mail_recipient::Column::QueuedAt.gt(now - Duration::days(1)))
        .to_owned();
    let record = Query::insert()
        .into_table(mail_recipient::Entity)
        .columns([
            mail_recipient::Column::RecipientKey,
            mail_recipient::Column::QueuedAt,
        ])
        .select_from(
            Query::select()
                .expr(Expr::val(recipient_key))
                .expr(Expr::val(now))
                .and_where(
                    Expr::expr(SimpleExpr::SubQuery(
                        None,
                        Box::new(sent_today.into_sub_query_statement()),
                    ))
                    .lt(MAX_MESSAGES_PER_RECIPIENT_A_DAY),
                )
                .to_owned(),
        )
        .map_err(|err| DbErr::Custom(err.to_string()))?
        .to_owned();
    let recorded = txn
        .execute(txn.get_database_backend().build(&record))
        .await?;
    if recorded.rows_affected() == 0 {
        tracing::warn!(
            subject = %email.subject,
            "an email was not queued: its address had {MAX_MESSAGES_PER_RECIPIENT_A_DAY} in the last 24 hours"
        );
        return Ok(Queued::OverDailyLimit);
    }
    mail_outbox::ActiveModel {
        recipient: Set(email.to),
        subject: Set(email.subject),
        text_body: Set(email.text),
        html_body: Set(email.html),
        created_at: Set(now),
        attempts: Set(0),
        next_attempt_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(Queued::Yes)
}

/// What an invitation email says.
pub struct InvitationEmail<'a> {
    pub to: &'a str,
    pub organization: &'a str,
    pub inviter_name: &'a str,
    pub inviter_email: &'a str,
    pub role: &'a str,
    pub link: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub fn invitation_email(invite: InvitationEmail<'_>) -> Email {
    let expires = invite
        .expires_at
        .format("%B %-d, %Y at %H:%M UTC")
        .to_string();
    let subject = format!(
        "{} invited you to join {} on Orgdesk",
        invite.inviter_name, invite.organization
    );
    let text = format!(
        "Hello,\n\n{} ({}) invited you to join {} on Orgdesk as {}.\n\n\
         Accept the invitation:\n{}\n\n\
         The link works once and expires on {expires}.\n\
         If you did not expect this invitation, you can ignore this email.\n",
        invite.inviter_name, invite.inviter_email, invite.organization, invite.role, invite.link
    );
    let intro = format!(
        "{} ({}) invited you to join {} on Orgdesk as {}.",
        invite.inviter_name, invite.inviter_email, invite.organization, invite.role
    );
    let html = html_document(
        &subject,
        view! {
            <p>"Hello,"</p>
            <p>{intro}</p>
            <p>{button(invite.link, "Accept")}</p>
            <p>{format!("The link works once and expires on {expires}.")}</p>
            <p>"If you did not expect this invitation, you can ignore this email."</p>
        },
    );
    Email {
        to: invite.to.to_string(),
        subject,
        text,
        html,
    }
}

pub fn verification_email(to: &str, name: &str, link: &str) -> Email {
    let subject = "Confirm your email address for Orgdesk".to_string();
    let text = format!(
        "Hello {name},\n\nSomeone created an Orgdesk account with this address. If it was you, open this link and confirm with the account's password:\n{link}\n\n\
         You can log in once the address is confirmed. The link expires in 7 days.\n\
         If you did not create an Orgdesk account, open the link and choose \"This wasn't me\": the account is deleted and the address is free again. Or ignore this email: an unconfirmed account is replaced after 7 days.\n"
    );
    let greeting = format!("Hello {name},");
    let html = html_document(
        &subject,
        view! {
            <p>{greeting}</p>
            <p>"Someone created an Orgdesk account with this address. If it was you, confirm it with the account's password:"</p>
            <p>{button(link, "Confirm email address")}</p>
            <p>"You can log in once the address is confirmed. The link expires in 7 days."</p>
            <p>"If you did not create an Orgdesk account, open the link and choose \u{201c}This wasn't me\u{201d}: the account is deleted and the address is free again. Or ignore this email: an unconfirmed account is replaced after 7 days."</p>
        },
    );
    Email {
        to: to.to_string(),
        subject,
        text,
        html,
    }
}

/// Someone tried to create an account with an address that already has one: its holder
/// hears of it (the form answered as for a new address), with the ways back in.
pub fn account_exists_email(to: &str, name: &str, login_link: &str, reset_link: &str) -> Email {
    let subject = "Someone tried to create an Orgdesk account with your address".to_string();
    let text = format!(
        "Hello {name},\n\nSomeone just tried to create a new Orgdesk account with {to}, which already has one. No new account was made.\n\n\
         If it was you, log in instead:\n{login_link}\n\nForgot your password? Reset it here:\n{reset_link}\n\n\
         If it was not you, there is nothing to do: your account is unchanged.\n"
    );
    let greeting = format!("Hello {name},");
    let intro = format!(
        "Someone just tried to create a new Orgdesk account with {to}, which already has one. No new account was made."
    );
    let html = html_document(
        &subject,
        view! {
            <p>{greeting}</p>
            <p>{intro}</p>
            <p>"If it was you, log in instead:"</p>
            <p>{button(login_link, "Log in")}</p>
            <p>"Forgot your password? "<a href=reset_link.to_string()>"Reset it here"</a>"."</p>
            <p>"If it was not you, there is nothing to do: your account is unchanged."</p>
        },
    );
    Email {
        to: to.to_string(),
        subject,
        text,
        html,
    }
}

/// After a password change or reset: so that the account's owner hears of one they did not
/// make, with the way back in.
pub fn password_changed_email(to: &str, name: &str, reset_link: &str) -> Email {
    let subject = "Your Orgdesk password was changed".to_string();
    let text = format!(
        "Hello {name},\n\nThe password of your Orgdesk account ({to}) was just changed, and every other session of the account was signed out.\n\n\
         If you did this, there is nothing to do. If you did not, reset your password now, which signs out whoever changed it:\n{reset_link}\n"
    );
    let greeting = format!("Hello {name},");
    let intro = format!(
        "The password of your Orgdesk account ({to}) was just changed, and every other session of the account was signed out."
    );
    let html = html_document(
        &subject,
        view! {
            <p>{greeting}</p>
            <p>{intro}</p>
            <p>"If you did this, there is nothing to do. If you did not, reset your password now, which signs out whoever changed it:"</p>
            <p>{button(reset_link, "Reset password")}</p>
        },
    );
    Email {
        to: to.to_string(),
        subject,
        text,
        html,
    }
}

/// After a second factor was added: what happened, and the single-use **This wasn't me —
/// remove it** link. A password reset alone would not help the owner here (it asks for a
/// second factor, which may be the one just added), so the link comes first.
pub fn factor_added_email(
    to: &str,
    name: &str,
    what_happened: &str,
    kind: &str,
    factor: &str,
    not_me_link: &str,
    reset_link: &str,
) -> Email {
    let subject = format!("{} was added to your Orgdesk account", capitalized(kind));
    let greeting = format!("Hello {name},");
    let intro = format!(
        "{what_happened} Every other session of your Orgdesk account ({to}) was signed out."
    );
    let not_me = format!(
        "If you did not add it, someone else is signed in to your account. Open this link within 7 days: it removes {factor} and signs out every session of your account, and it signs no one in."
    );
    let then = format!(
        "Then choose a new password at {reset_link}: whoever added it may know your current one."
    );
    let text = format!(
        "{greeting}\n\n{intro}\n\nIf you did this, there is nothing to do.\n\n{not_me}\n{not_me_link}\n\n{then}\n"
    );
    let then_html =
        "Then choose a new password with \"Forgot password?\" on the login page, because whoever added it may know your current one.";
    let html = html_document(
        &subject,
        view! {
            <p>{greeting}</p>
            <p>{intro}</p>
            <p>"If you did this, there is nothing to do."</p>
            <p>{not_me}</p>
            <p>{button(not_me_link, "This wasn't me — remove it")}</p>
            <p>{then_html}</p>
        },
    );
    Email {
        to: to.to_string(),
        subject,
        text,
        html,
    }
}

/// `text` with its first letter in upper case ("a passkey" → "A passkey").
pub fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What a "Forgot password?" email says.
pub fn password_reset_email(to: &str, name: &str, link: &str) -> Email {
    let subject = "Reset your Orgdesk password".to_string();
    let text = format!(
        "Hello {name},\n\nSomeone (hopefully you) asked to reset the password of your Orgdesk account.\n\n\
         Choose a new password:\n{link}\n\n\
         The link works once, for 1 hour. If you did not ask, ignore this email: your password stays as it is.\n"
    );
    let greeting = format!("Hello {name},");
    let html = html_document(
        &subject,
        view! {
            <p>{greeting}</p>
            <p>"Someone (hopefully you) asked to reset the password of your Orgdesk account."</p>
            <p>{button(link, "Choose a new password")}</p>
            <p>"The link works once, for 1 hour. If you did not ask, ignore this email: your password stays as it is."</p>
        },
    );
    Email {
        to: to.to_string(),
        subject,
        text,
        html,
    }
}

/// A notice without a link to follow: the plain text, each paragraph a paragraph of HTML.
pub fn plain_notice(to: &str, subject: String, text: String) -> Email {
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let html = html_document(
        &subject,
        view! { {paragraphs.into_iter().map(|p| view! { <p>{p}</p> }).collect_view()} },
    );
    Email {
        to: to.to_string(),
        subject,
        text,
        html,
    }
}

/// A link styled as a button (mail clients ignore stylesheets, so the style is inline).
fn button(href: &str, label: &'static str) -> impl IntoView {
    view! {
        <a
            href=href.to_string()
            style="display:inline-block;padding:10px 20px;background:#1d4ed8;color:#ffffff;border-radius:6px;text-decoration:none;font-weight:600"
        >
            {label}
        </a>
    }
}

/// Renders the HTML part with Leptos, which escapes every inserted value.
fn html_document(title: &str, body: impl IntoView + 'static) -> String {
    let body = view! {
        <div style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#111827;max-width:560px">
            {body}
            <p style="color:#6b7280;font-size:13px">"Orgdesk"</p>
        </div>
    }
    .to_html();
    let title = view! { <title>{title.to_string()}</title> }.to_html();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">{title}</head><body>{body}</body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_email_escapes_names_in_html_and_carries_the_link_in_both_parts() {
        let email = invitation_email(InvitationEmail {
            to: "new@example.com",
            organization: "Acme <script>",
            inviter_name: "Ann & Bob",
            inviter_email: "ann@example.com",
            role: "admin",
            link: "https://orgdesk.example/invitation?token=abc",
            expires_at: DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        });
        assert_eq!(
            email.subject,
            "Ann & Bob invited you to join Acme <script> on Orgdesk"
        );
        assert!(email
            .text
            .contains("https://orgdesk.example/invitation?token=abc"));
        assert!(email.text.contains("December 1, 2026 at 10:00 UTC"));
        assert!(email
            .html
            .contains("href=\"https://orgdesk.example/invitation?token=abc\""));
        assert!(email.html.contains("Acme &lt;script&gt;"), "{}", email.html);
        assert!(!email.html.contains("<script>"));
        assert!(email.html.contains(">Accept<") || email.html.contains(">Accept<!"));
    }
}
