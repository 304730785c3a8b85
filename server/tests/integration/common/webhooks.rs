//! A webhook receiver on loopback: records every request and answers with the statuses a
//! test scripts (200 once the script runs out).

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post, Router};

use super::*;

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    pub url: String,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut receiver = Receiver {
            url: format!("http://{}/hooks/orgdesk", listener.local_addr().unwrap()),
            ..Default::default()
        };
        let app = Router::new()
            .route("/hooks/orgdesk", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver.received = receiver.received.clone();
        receiver
    }

    /// The next answers, in order.
    pub fn answer(&self, statuses: &[u16]) {
        self.script.lock().unwrap().extend(statuses);
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (axum::http::StatusCode, &'static str) {
    receiver.received.lock().unwrap().push(Received {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let status = receiver.script.lock().unwrap().pop_front().unwrap_or(200);
    (
        axum::http::StatusCode::from_u16(status).unwrap(),
        "thanks from the receiver",
    )
}

impl TestApp {
    /// Adds an endpoint as `session` and returns the secret the page shows once.
    pub async fn add_webhook(&self, session: &str, org: &str, url: &str, events: &[&str]) -> Reply {
        let mut form = vec![("organization_id", org), ("url", url)];
        for event in events {
            form.push(("events[]", event));
        }
        self.send(Call::post("/api/webhooks/add", &form).session(session))
            .await
    }

    pub async fn webhooks_view(
        &self,
        session: &str,
        endpoint: Option<i32>,
    ) -> app::webhooks::views::WebhooksView {
        let endpoint = endpoint.map(|id| id.to_string());
        let form: Vec<(&str, &str)> = endpoint
            .as_deref()
            .map(|id| vec![("endpoint", id)])
            .unwrap_or_default();
        let view: Option<app::webhooks::views::WebhooksView> = self
            .call_json("/api/webhooks/list", &form, Some(session))
            .await;
        view.expect("a current organization")
    }

    /// Runs this process's webhook worker once, as of `now`.
    pub async fn deliver_webhooks(&self, now: chrono::DateTime<chrono::Utc>) -> usize {
        server::webhook_worker(&self.state)
            .deliver_due(now)
            .await
            .expect("the worker reads its deliveries")
    }
}
