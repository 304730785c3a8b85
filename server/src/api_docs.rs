//! `/api/docs`: the API reference, Swagger UI (vendored by `utoipa-swagger-ui`) reading
//! `/api/v1/openapi.json`, under the pages' strict Content-Security-Policy: the page is
//! Orgdesk's own, its scripts carry the response's nonce, and Swagger UI's files come from
//! this server. Below it, each problem `type` the API answers with, as an anchor
//! (`/api/docs#problem-invalid-key`).

use std::sync::{Arc, LazyLock};

use app::public_api::problem::ProblemKind;
use axum::{
    extract::{Path, Request},
    http::{header, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
};
use leptos::nonce::Nonce;
use utoipa_swagger_ui::Config;

/// What `serve` asks for; only the initializer (not served) reads it.
static CONFIG: LazyLock<Arc<Config<'static>>> =
    LazyLock::new(|| Arc::new(Config::from("/api/v1/openapi.json").display_operation_id(true)));

/// The reference page.
pub async fn page(request: Request) -> Html<String> {
    let nonce = request
        .extensions()
        .get::<Nonce>()
        .map(ToString::to_string)
        .unwrap_or_default();
    let problems: String = ProblemKind::ALL
        .iter()
        .map(|kind| {
            format!(
                "<dt id=\"problem-{slug}\"><code>/api/docs#problem-{slug}</code></dt><dd>{status}: {title}</dd>",
                slug = kind.slug(),
                status = kind.status().as_u16(),
                title = kind.title(),
            )
        })
        .collect();
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API reference · Orgdesk</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
<link rel="stylesheet" href="/api/docs/orgdesk-docs.css">
</head>
<body>
<header class="docs-header">
<h1>Orgdesk API reference</h1>
<p>Authenticate with one of your organization's API keys (Organization Profile → API keys): <code>Authorization: Bearer odk_…</code>. The machine-readable document: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>. <a href="/">Back to Orgdesk</a></p>
</header>
<main>
<div id="swagger-ui"></div>
<section aria-labelledby="problem-types" class="docs-problems">
<h2 id="problem-types">Problem types</h2>
<p>Errors are <code>application/problem+json</code> (RFC 9457); their <code>type</code> is one of these. A broken rule lists each field in <code>errors</code>.</p>
<dl>{problems}</dl>
</section>
</main>
<script nonce="{nonce}" src="/api/docs/swagger-ui-bundle.js"></script>
<script nonce="{nonce}" src="/api/docs/orgdesk-docs.js"></script>
</body>
</html>"#
    ))
}

/// The page's own few rules (a stylesheet file: the policy allows no inline style), and
/// darker colours where Swagger UI's fall short of WCAG AA contrast (axe checks them).
const DOCS_CSS: &str = "body{margin:0;font-family:sans-serif}\
.docs-header,.docs-problems{max-width:1460px;margin:0 auto;padding:1rem 20px}\
.docs-header h1{font-size:1.6rem;margin:0 0 .5rem}\
.docs-problems dt{margin-top:.5rem}.docs-problems dd{margin-left:1.5rem}\
.swagger-ui .opblock.opblock-get .opblock-summary-method{background:#0b5cad}\
.swagger-ui .opblock.opblock-post .opblock-summary-method{background:#1b6b37}\
.swagger-ui .opblock.opblock-put .opblock-summary-method{background:#8a4f00}\
.swagger-ui .opblock.opblock-delete .opblock-summary-method{background:#b3261e}\
.swagger-ui .opblock.opblock-patch .opblock-summary-method{background:#0f6b63}\
.swagger-ui .info .title small pre{background:#3d5c00}\
.swagger-ui .info .title small.version-stamp{background:#3d5c00}\
.swagger-ui .info .title small{background:#55595f}\
.swagger-ui .info a,.swagger-ui .info .url,.swagger-ui .url{color:#1f4f8f}\
.swagger-ui .btn,.swagger-ui .btn>span{color:#1f2328}\
.swagger-ui .btn.authorize,.swagger-ui .btn.authorize>span{color:#1b6b37;border-color:#1b6b37}\
.swagger-ui .json-schema-2020-12-expand-deep-button{color:#4a4a4a}";

/// Starts Swagger UI on the document. The base layout: the standalone one adds a top bar
/// whose logo carries an inline `<style>`, which the policy refuses. Swagger UI leaves its
/// server list without a name: it gets one.
const DOCS_JS: &str = "window.addEventListener('load',function(){window.ui=SwaggerUIBundle({\
url:'/api/v1/openapi.json',dom_id:'#swagger-ui',presets:[SwaggerUIBundle.presets.apis],\
layout:'BaseLayout',displayOperationId:true,deepLinking:false,\
onComplete:function(){var s=document.getElementById('servers');\
if(s){s.setAttribute('aria-label','Server');}}});});";

/// Swagger UI's files, and the page's own stylesheet and start script.
pub async fn file(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "orgdesk-docs.css" => {
            return with_caching(([(header::CONTENT_TYPE, "text/css")], DOCS_CSS).into_response())
        }
        "orgdesk-docs.js" => {
            return with_caching(
                ([(header::CONTENT_TYPE, "text/javascript")], DOCS_JS).into_response(),
            )
        }
        _ => {}
    }
    // Only what the page loads (and the icons it names): not Swagger UI's own index page
    // (scripts without the nonce) or its initializer.
    if !matches!(
        file.as_str(),
        "swagger-ui-bundle.js" | "swagger-ui.css" | "favicon-16x16.png" | "favicon-32x32.png"
    ) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match utoipa_swagger_ui::serve(&file, CONFIG.clone()) {
        Ok(Some(found)) => {
            let content_type = HeaderValue::from_str(&found.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            with_caching(
                (
                    [(header::CONTENT_TYPE, content_type)],
                    found.bytes.into_owned(),
                )
                    .into_response(),
            )
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn with_caching(mut response: Response) -> Response {
    // The files change only with Orgdesk's version.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
