//! A real DNS server for the tests: end2end/dns-server.mjs (npm's dns2) on free loopback
//! ports, one per test binary, answering from a zone the tests change through its HTTP API.
//! Every test app resolves through it (`ORGDESK_DNS_RESOLVER`); nothing asks real DNS.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Mutex, OnceLock},
};

use super::maildev::free_port;

pub struct DnsServer {
    pub address: SocketAddr,
    api: String,
    // Held so its stdin stays open: the server exits when this process does.
    _child: Mutex<Child>,
}

/// The DNS server this test binary shares, started on first use.
pub fn dns_server() -> &'static DnsServer {
    static SERVER: OnceLock<DnsServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end");
        assert!(
            root.join("node_modules/dns2").exists(),
            "dns2 is missing in end2end/node_modules: run `make test-tools` (npm ci in end2end/)"
        );
        let (dns_port, api_port) = (free_port(), free_port());
        let mut child = Command::new("node")
            .arg(root.join("dns-server.mjs"))
            .env("DNS_PORT", dns_port.to_string())
            .env("DNS_API_PORT", api_port.to_string())
            .env("DNS_EXIT_WITH_PARENT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the DNS server (node)");
        let stdout = child.stdout.take().expect("its stdout");
        let mut first_line = String::new();
        BufReader::new(stdout)
            .read_line(&mut first_line)
            .expect("the DNS server's first line");
        assert!(
            first_line.contains("listening"),
            "the DNS server did not start: {first_line}"
        );
        DnsServer {
            address: SocketAddr::from(([127, 0, 0, 1], dns_port)),
            api: format!("http://127.0.0.1:{api_port}"),
            _child: Mutex::new(child),
        }
    })
}

impl DnsServer {
    /// Publishes a TXT record `value` at `name` (beside any already there).
    pub async fn publish(&self, name: &str, value: &str) {
        let reply = reqwest::Client::new()
            .put(format!("{}/records/{name}", self.api))
            .body(value.to_string())
            .send()
            .await
            .expect("the DNS server's API");
        assert!(
            reply.status().is_success(),
            "publish {name}: {}",
            reply.status()
        );
    }

    /// Makes `name` a CNAME for `target`.
    pub async fn alias(&self, name: &str, target: &str) {
        let reply = reqwest::Client::new()
            .put(format!("{}/aliases/{name}", self.api))
            .body(target.to_string())
            .send()
            .await
            .expect("the DNS server's API");
        assert!(
            reply.status().is_success(),
            "alias {name}: {}",
            reply.status()
        );
    }

    /// Removes every TXT record (and the alias) at `name`.
    pub async fn unpublish(&self, name: &str) {
        let reply = reqwest::Client::new()
            .delete(format!("{}/records/{name}", self.api))
            .send()
            .await
            .expect("the DNS server's API");
        assert!(
            reply.status().is_success(),
            "unpublish {name}: {}",
            reply.status()
        );
    }
}
