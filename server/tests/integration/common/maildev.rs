//! A real SMTP server for the tests: maildev from end2end/node_modules (installed by
//! `make test`), on free loopback ports, read through its REST API.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

pub struct MailDev {
    child: Child,
    web_port: u16,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

#[derive(Debug, serde::Deserialize)]
pub struct Received {
    pub subject: String,
    pub to: Vec<Address>,
    pub html: Option<String>,
    pub text: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct Address {
    pub address: String,
}

impl MailDev {
    /// Starts maildev with SMTP on `smtp_port` and waits until its API answers.
    pub async fn start(smtp_port: u16) -> MailDev {
        let binary =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end/node_modules/.bin/maildev");
        assert!(
            binary.exists(),
            "maildev is missing at {}: run `make test-tools` (npm ci in end2end/)",
            binary.display()
        );
        let web_port = free_port();
        let child = Command::new(binary)
            .args(["--smtp", &smtp_port.to_string(), "--ip", "127.0.0.1"])
            .args(["--web", &web_port.to_string(), "--web-ip", "127.0.0.1"])
            .arg("--silent")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start maildev");
        let maildev = MailDev { child, web_port };
        for _ in 0..150 {
            if reqwest::get(maildev.url("/api/healthz")).await.is_ok()
                && std::net::TcpStream::connect(("127.0.0.1", smtp_port)).is_ok()
            {
                return maildev;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("maildev did not start within 15 seconds");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.web_port)
    }

    /// Every message received so far.
    pub async fn messages(&self) -> Vec<Received> {
        reqwest::get(self.url("/api/email"))
            .await
            .expect("maildev answers")
            .json()
            .await
            .expect("maildev's message list")
    }
}

impl Drop for MailDev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
