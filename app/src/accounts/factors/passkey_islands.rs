//! The browser half of passkeys: the islands (add one, use one at the sign-in step, sign
//! in with one alone, confirm it's you with one) and the calls to `navigator.credentials`
//! through WebAuthn's JSON forms. The server half is `passkeys.rs`.

use leptos::prelude::*;

use super::passkeys::{
    finish_passkey_login, finish_passkey_proof, finish_passkey_registration,
    finish_passkey_sign_in, start_passkey_login, start_passkey_proof, start_passkey_registration,
    start_passkey_sign_in, PASSKEY_NAME_MAX_CHARS,
};

/// The browser half: WebAuthn's JSON forms, which browsers parse and produce themselves
/// (`PublicKeyCredential.parse…OptionsFromJSON`, `credential.toJSON()`).
mod browser {
    use wasm_bindgen::{JsCast, JsValue};

    fn js_error(value: JsValue) -> String {
        value
            .dyn_ref::<js_sys::Error>()
            .map(|err| String::from(err.message()))
            .unwrap_or_else(|| "The browser refused.".into())
    }

    /// Whether this browser can do passkeys with WebAuthn's JSON helpers.
    pub fn supported() -> bool {
        let Some(window) = web_sys::window() else {
            return false;
        };
        js_sys::Reflect::get(&window, &"PublicKeyCredential".into())
            .ok()
            .filter(|pkc| !pkc.is_undefined())
            .and_then(|pkc| js_sys::Reflect::get(&pkc, &"parseRequestOptionsFromJSON".into()).ok())
            .is_some_and(|parse| parse.is_function())
    }

    /// Runs `navigator.credentials.create` (`create`) or `.get` with the server's options
    /// (`{"publicKey": …}` as JSON); returns the credential's JSON.
    pub async fn ceremony(options: &str, create: bool) -> Result<String, String> {
        let window = web_sys::window().ok_or("No browser window.")?;
        let pkc = js_sys::Reflect::get(&window, &"PublicKeyCredential".into()).map_err(js_error)?;
        let parse_name = if create {
            "parseCreationOptionsFromJSON"
        } else {
            "parseRequestOptionsFromJSON"
        };
        let parse: js_sys::Function = js_sys::Reflect::get(&pkc, &parse_name.into())
            .map_err(js_error)?
            .dyn_into()
            .map_err(|_| "This browser cannot use passkeys here.".to_string())?;
        let wrapped = js_sys::JSON::parse(options).map_err(js_error)?;
        let public_key = js_sys::Reflect::get(&wrapped, &"publicKey".into()).map_err(js_error)?;
        let parsed = parse.call1(&pkc, &public_key).map_err(js_error)?;
        let argument = js_sys::Object::new();
        js_sys::Reflect::set(&argument, &"publicKey".into(), &parsed).map_err(js_error)?;
        let navigator = js_sys::Reflect::get(&window, &"navigator".into()).map_err(js_error)?;
        let credentials =
            js_sys::Reflect::get(&navigator, &"credentials".into()).map_err(js_error)?;
        let method: js_sys::Function = js_sys::Reflect::get(
            &credentials,
            &(if create { "create" } else { "get" }).into(),
        )
        .map_err(js_error)?
        .dyn_into()
        .map_err(|_| "This browser cannot use passkeys here.".to_string())?;
        let promise: js_sys::Promise = method
            .call1(&credentials, &argument)
            .map_err(js_error)?
            .dyn_into()
            .map_err(|_| "This browser cannot use passkeys here.".to_string())?;
        let credential = wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .map_err(js_error)?;
        let to_json: js_sys::Function = js_sys::Reflect::get(&credential, &"toJSON".into())
            .map_err(js_error)?
            .dyn_into()
            .map_err(|_| "This browser cannot use passkeys here.".to_string())?;
        let json = to_json.call0(&credential).map_err(js_error)?;
        js_sys::JSON::stringify(&json)
            .map(String::from)
            .map_err(js_error)
    }

    /// Loads the page again (after a proof: the server renders it without proof fields).
    pub fn reload() {
        if let Some(window) = web_sys::window() {
            let _ = window.location().reload();
        }
    }

    /// Leaves the page for `path`.
    pub fn go_to(path: &str) {
        if let Some(window) = web_sys::window() {
            let _ = window.location().assign(path);
        }
    }
}

/// The state every passkey button shares: whether the browser can do passkeys (false on
/// the server and until the wasm runs), whether a ceremony is under way, and its error.
#[derive(Clone, Copy)]
struct PasskeyButton {
    ready: RwSignal<bool>,
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
}

impl PasskeyButton {
    fn new() -> Self {
        let ready = RwSignal::new(false);
        Effect::new(move |_| ready.set(browser::supported()));
        Self {
            ready,
            busy: RwSignal::new(false),
            error: RwSignal::new(None),
        }
    }

    /// Runs the ceremony `step` makes (one at a time), then `done` with its result; on
    /// failure shows the error and frees the button.
    fn run<T: 'static, Step: std::future::Future<Output = Result<T, String>> + 'static>(
        self,
        step: impl FnOnce() -> Step,
        done: impl FnOnce(T) + 'static,
    ) {
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        self.error.set(None);
        let step = step();
        leptos::task::spawn_local(async move {
            match step.await {
                Ok(value) => done(value),
                Err(message) => {
                    self.error.set(Some(message));
                    self.busy.set(false);
                }
            }
        });
    }

    /// The error of the last try, announced.
    fn alert(self) -> impl IntoView {
        move || {
            self.error
                .get()
                .map(|message| view! { <p class="form-alert" role="alert">{message}</p> })
        }
    }

    /// The button's label: `label`, or that the ceremony waits for the passkey.
    fn label(self, label: &'static str) -> impl Fn() -> &'static str {
        move || {
            if self.busy.get() {
                "Waiting for your passkey…"
            } else {
                label
            }
        }
    }
}

/// **Add a passkey**: a name (and, without a recent proof, the password or a code), then
/// the browser's own dialog. Needs JavaScript; without it the form says so.
#[island]
pub fn AddPasskey(
    /// Whether the session must prove who its holder is first.
    needs_proof: bool,
    /// What the proof field asks for.
    request: String,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let proof = RwSignal::new(String::new());
    let button = PasskeyButton::new();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = name.get_untracked();
        let typed_proof = Some(proof.get_untracked()).filter(|p| !p.is_empty());
        button.run(
            || async move {
                let ceremony = start_passkey_registration(typed_proof)
                    .await
                    .map_err(|err| err.message_for("proof").unwrap_or_else(|| err.to_string()))?;
                let credential = browser::ceremony(&ceremony.options, true).await?;
                finish_passkey_registration(ceremony.token, chosen, credential)
                    .await
                    .map_err(|err| {
                        err.message_for("passkey_name")
                            .unwrap_or_else(|| err.to_string())
                    })
            },
            |next| browser::go_to(&next),
        );
    };
    view! {
        <form class="add-passkey" on:submit=add>
            <div class="field">
                <label for="passkey-name">"Passkey name"</label>
                <p class="field-hint" id="passkey-name-hint">"Which device or key it is, like \"Work laptop\" or \"YubiKey\"."</p>
                <input
                    id="passkey-name"
                    name="passkey_name"
                    maxlength=PASSKEY_NAME_MAX_CHARS
                    required=true
                    aria-describedby="passkey-name-hint"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
            </div>
            {needs_proof.then(|| view! {
                <div class="field">
                    <label for="passkey-proof">"Password or authentication code"</label>
                    <p class="field-hint" id="passkey-proof-hint">{request}</p>
                    <input
                        id="passkey-proof"
                        name="proof"
                        type="password"
                        autocomplete="current-password"
                        required=true
                        aria-describedby="passkey-proof-hint"
                        prop:value=move || proof.get()
                        on:input=move |ev| proof.set(event_target_value(&ev))
                    />
                </div>
            })}
            {button.alert()}
            <button type="submit" class="button" disabled=move || !button.ready.get() || button.busy.get()>
                {button.label("Add a passkey")}
            </button>
            // Shown until the island runs in a browser that can use passkeys.
            <p class="field-hint" hidden=move || button.ready.get()>
                "Adding a passkey needs JavaScript and a browser that supports passkeys."
            </p>
        </form>
    }
}

/// **Use a passkey** to confirm it's you before a sensitive change; the page reloads
/// without the proof fields after it.
#[island]
pub fn ConfirmWithPasskey() -> impl IntoView {
    let button = PasskeyButton::new();
    let start = move |_| {
        button.run(
            || async {
                let ceremony = start_passkey_proof().await.map_err(|err| err.to_string())?;
                let credential = browser::ceremony(&ceremony.options, false).await?;
                finish_passkey_proof(ceremony.token, credential)
                    .await
                    .map_err(|err| err.to_string())
            },
            |()| browser::reload(),
        )
    };
    view! {
        <div class="use-passkey" hidden=move || !button.ready.get()>
            {button.alert()}
            <button type="button" class="button" on:click=start disabled=move || button.busy.get()>
                {button.label("Confirm with a passkey")}
            </button>
        </div>
    }
}

/// **Use a passkey** at the sign-in step.
#[island]
pub fn UsePasskey() -> impl IntoView {
    let button = PasskeyButton::new();
    let start = move |_| {
        button.run(
            || async {
                let ceremony = start_passkey_sign_in()
                    .await
                    .map_err(|err| err.to_string())?;
                let credential = browser::ceremony(&ceremony.options, false).await?;
                finish_passkey_sign_in(ceremony.token, credential)
                    .await
                    .map_err(|err| err.to_string())
            },
            |next| browser::go_to(&next),
        )
    };
    view! {
        <div class="use-passkey">
            {button.alert()}
            <button type="button" class="button primary" on:click=start disabled=move || !button.ready.get() || button.busy.get()>
                {button.label("Use a passkey")}
            </button>
            <p class="field-hint" hidden=move || button.ready.get()>
                "Passkeys need JavaScript and a browser that supports them. Without them, use your authenticator app or a recovery code."
            </p>
        </div>
    }
}

/// **Sign in with a passkey** on the login page (no email or password first), where the
/// browser can; `next` is where to go after.
#[island]
pub fn SignInWithPasskey(next: String) -> impl IntoView {
    let button = PasskeyButton::new();
    let start = move |_| {
        let next = next.clone();
        button.run(
            || async move {
                let ceremony = start_passkey_login().await.map_err(|err| err.to_string())?;
                let credential = browser::ceremony(&ceremony.options, false).await?;
                finish_passkey_login(ceremony.token, credential, Some(next))
                    .await
                    .map_err(|err| err.to_string())
            },
            |next| browser::go_to(&next),
        )
    };
    view! {
        <div class="use-passkey" hidden=move || !button.ready.get()>
            {button.alert()}
            <button type="button" class="button" on:click=start disabled=move || button.busy.get()>
                {button.label("Sign in with a passkey")}
            </button>
        </div>
    }
}
