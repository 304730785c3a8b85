//! The Welcome page: home after login.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::ui::layout::CurrentUser;

#[component]
pub fn WelcomePage() -> impl IntoView {
    let CurrentUser(user) = expect_context::<CurrentUser>();
    view! {
        <Title text="Welcome · Orgdesk" />
        <Transition fallback=|| view! { <h1>"Welcome"</h1> }>
            {move || Suspend::new(async move {
                let name = user.await.ok().flatten().map(|u| u.name).unwrap_or_default();
                view! { <h1>"Welcome, " {name}</h1> }
            })}
        </Transition>
        <p>"This is your Orgdesk dashboard."</p>
    }
}
