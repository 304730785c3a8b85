//! The public API as a program uses it: keys made through the dashboard's server
//! functions, then JSON requests with `Authorization: Bearer`.

use super::*;

impl Reply {
    /// The body as JSON (the test fails on anything else).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.body))
    }

    /// A problem document's `type` (e.g. `/api/docs#problem-invalid-key`).
    pub fn problem_type(&self) -> String {
        assert_eq!(
            self.headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{}",
            self.body
        );
        self.json()["type"].as_str().unwrap_or_default().to_string()
    }
}

impl TestApp {
    /// Makes a key in organization `org` as the holder of `session` and returns it (read
    /// from the page's one-time reveal, as a person copies it).
    pub async fn create_api_key(
        &self,
        session: &str,
        org: &str,
        name: &str,
        scopes: &[&str],
    ) -> String {
        let made = self.try_create_api_key(session, org, name, scopes).await;
        assert_eq!(made.status, StatusCode::OK, "creating a key: {}", made.body);
        self.revealed_api_key(session)
            .await
            .expect("the new key is shown once")
    }

    pub async fn try_create_api_key(
        &self,
        session: &str,
        org: &str,
        name: &str,
        scopes: &[&str],
    ) -> Reply {
        let mut form = vec![("organization_id", org), ("name", name), ("expires", "90")];
        for scope in scopes {
            form.push(("scopes[]", scope));
        }
        self.send(Call::post("/api/api_keys/create", &form).session(session))
            .await
    }

    /// The key the Organization Profile → API keys tab shows this session, if any.
    pub async fn revealed_api_key(&self, session: &str) -> Option<String> {
        let view: Option<app::api_keys::api::ApiKeysView> = self
            .call_json("/api/api_keys/list", &[], Some(session))
            .await;
        view.and_then(|v| v.new_key).map(|shown| shown.key)
    }

    /// An API request with a body of any type (an image for the logo).
    pub async fn api_raw(
        &self,
        method: &str,
        path: &str,
        key: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 7], 40000))));
        self.reply(request).await
    }

    /// An API request: `method path`, the key (if any) as a bearer token, a JSON body.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost")
            .header(header::ACCEPT, "application/json");
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let mut request = request.body(body).unwrap();
        // From a documentation address, as the server's socket would tell.
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 7], 40000))));
        self.reply(request).await
    }
}
