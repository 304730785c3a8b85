//! Requests through the real router without a socket: a server function's form post
//! (`Call`), a page's GET, and what came back (`Reply`).

use super::*;

/// What came back from a request.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The typed error a server function returned.
    pub fn error(&self) -> AppError {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not an AppError ({e}): {} {}", self.status, self.body))
    }

    pub fn field_error(&self, field: &str) -> String {
        self.error()
            .message_for(field)
            .unwrap_or_else(|| panic!("no error for {field}: {:?}", self.error()))
    }

    /// The value of the session cookie this response sets (empty when it removes it).
    pub fn session_cookie(&self) -> Option<String> {
        self.set_cookie_line()
            .map(|line| line.split(';').next().unwrap()["orgdesk_session=".len()..].to_string())
    }

    /// The known-device cookie this response sets, if any.
    pub fn device_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("orgdesk_device="))
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
    }

    pub fn set_cookie_line(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|v| v.starts_with("orgdesk_session="))
    }

    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap())
    }

    /// Where a server function told its client to go.
    pub fn redirected_to(&self) -> Option<&str> {
        self.location()
    }
}

/// A request as the app's own pages send it.
pub struct Call<'a> {
    pub path: &'a str,
    pub form: Vec<(&'a str, String)>,
    pub session: Option<&'a str>,
    pub headers: Vec<(&'static str, String)>,
    pub client: Option<SocketAddr>,
}

impl<'a> Call<'a> {
    pub fn post(path: &'a str, form: &[(&'a str, &str)]) -> Self {
        Self {
            path,
            form: form.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            session: None,
            // What the app's own server function client sends.
            headers: vec![
                ("sec-fetch-site", "same-origin".into()),
                ("accept", "application/json".into()),
            ],
            client: None,
        }
    }

    pub fn session(mut self, token: &'a str) -> Self {
        self.session = Some(token);
        self
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.to_string()));
        self
    }

    pub fn without_header(mut self, name: &'static str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self
    }

    pub fn client_at(mut self, address: &str) -> Self {
        self.client = Some(format!("{address}:40000").parse().unwrap());
        self
    }
}

impl TestApp {
    pub async fn send(&self, call: Call<'_>) -> Reply {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(call.form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let mut request = Request::post(call.path)
            .header(header::HOST, "localhost")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some(token) = call.session {
            request = request.header(header::COOKIE, format!("orgdesk_session={token}"));
        }
        let mut request = request.body(Body::from(body)).unwrap();
        if let Some(client) = call.client {
            request.extensions_mut().insert(ConnectInfo(client));
        }
        self.reply(request).await
    }

    pub async fn get(&self, path: &str, session: Option<&str>) -> Reply {
        let mut request = Request::get(path)
            .header(header::HOST, "localhost")
            .header(header::ACCEPT, "text/html");
        if let Some(token) = session {
            request = request.header(header::COOKIE, format!("orgdesk_session={token}"));
        }
        self.reply(request.body(Body::empty()).unwrap()).await
    }

    /// Sends a request built by the test as it is.
    pub async fn reply(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Sends a multipart form: text fields, then files as (field, file name, type, bytes).
    pub async fn send_multipart(
        &self,
        path: &str,
        session: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, &[u8])],
    ) -> Reply {
        const BOUNDARY: &str = "orgdesk-test-boundary-7d1f";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (name, file_name, content_type, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let request = Request::post(path)
            .header(header::HOST, "localhost")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .header(header::ACCEPT, "application/json")
            .header("sec-fetch-site", "same-origin")
            .header(header::COOKIE, format!("orgdesk_session={session}"))
            .body(Body::from(body))
            .unwrap();
        self.reply(request).await
    }

    /// Calls a server function and decodes its JSON answer.
    pub async fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
        session: Option<&str>,
    ) -> T {
        let mut call = Call::post(path, form);
        if let Some(token) = session {
            call = call.session(token);
        }
        let reply = self.send(call).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", reply.body))
    }

    /// GET as a browser carrying `cookies` (e.g. "orgdesk_sso=…; orgdesk_session=…").
    pub async fn get_with_cookies(&self, path: &str, cookies: &str) -> Reply {
        let request = Request::get(path)
            .header(header::HOST, "localhost")
            .header(header::ACCEPT, "text/html")
            .header(header::COOKIE, cookies);
        self.reply(request.body(Body::empty()).unwrap()).await
    }
}
