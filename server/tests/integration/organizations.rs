//! Organizations through the real router and a real database: creating and switching, the
//! 400 limit, the profile and its permissions, logos, deletion, stages, the directory.

use crate::common::{spawn_app, Call, TestApp, PASSWORD};
use app::{
    error::AppError,
    members::roles::Role,
    organizations::api::{
        CurrentOrganizationView, DirectoryPage, LogoView, MyOrganizationsPage, NextStepKind,
        OrganizationSummary, OverviewView, ProfileView, StepStatus,
    },
    server::entities::{membership, organization, organization_logo, user},
};
use axum::http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

async fn overview(app: &TestApp, session: &str) -> Option<OverviewView> {
    app.call_json("/api/organizations/overview", &[], Some(session))
        .await
}

async fn profile(app: &TestApp, session: &str) -> ProfileView {
    let profile: Option<ProfileView> = app
        .call_json("/api/organizations/profile", &[], Some(session))
        .await;
    profile.expect("a current organization")
}

/// The first page of the user's organizations (all of them, up to 25).
async fn mine(app: &TestApp, session: &str) -> Vec<OrganizationSummary> {
    my_organizations(app, session, "", 1).await.organizations
}

async fn my_organizations(
    app: &TestApp,
    session: &str,
    query: &str,
    page: u64,
) -> MyOrganizationsPage {
    app.call_json(
        "/api/organizations/mine",
        &[("query", query), ("page", &page.to_string())],
        Some(session),
    )
    .await
}

#[tokio::test]
async fn creating_an_organization_makes_its_creator_the_owner() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    assert_eq!(overview(&app, &ada).await, None, "no organization yet");

    let reply = app
        .send(Call::post("/api/organizations/create", &[("name", "  Acme Health  ")]).session(&ada))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.redirected_to(),
        Some("/organization"),
        "its Overview opens"
    );

    let org = overview(&app, &ada).await.unwrap();
    assert_eq!(org.name, "Acme Health");
    assert_eq!(org.role, Role::Owner);
    assert_eq!(org.member_count, 1);
    assert_eq!(org.stage, app::organizations::rules::Stage::Free);
    assert!(org.public_id.starts_with("org_") && org.public_id.len() == 36);
    let list = mine(&app, &ada).await;
    assert_eq!(list.len(), 1);
    assert!(list[0].current);

    let page = app.get("/organization", Some(&ada)).await;
    assert!(page.body.contains("Acme Health") && page.body.contains(&org.public_id));
}

/// The steps of an owner's Overview, in order, with their status.
fn steps(overview: OverviewView) -> Vec<(NextStepKind, StepStatus)> {
    overview
        .next_steps
        .expect("an owner sees the next steps")
        .into_iter()
        .map(|step| (step.kind, step.status))
        .collect()
}

#[tokio::test]
async fn an_owners_overview_shows_each_next_step_done_once_it_is() {
    use NextStepKind::*;
    use StepStatus::*;
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let org = app.create_organization(&ada, "Acme").await;
    assert_eq!(
        steps(overview(&app, &ada).await.unwrap()),
        [
            (FillOutProfile, ToDo),
            (UploadLogo, ToDo),
            (InviteUsers, ToDo),
            (SetUpSingleSignOn, ToDo)
        ]
    );

    // An overview without any contact is not a filled-out profile.
    let no_contact = profile_form(
        &org,
        &[("alert_email", ""), ("sales_email", ""), ("phone", "")],
    );
    let reply = app
        .send(Call::post("/api/organizations/update_profile", &no_contact).session(&ada))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        steps(overview(&app, &ada).await.unwrap())[0],
        (FillOutProfile, ToDo)
    );
    let with_phone = profile_form(&org, &[("alert_email", ""), ("sales_email", "")]);
    app.send(Call::post("/api/organizations/update_profile", &with_phone).session(&ada))
        .await;
    assert_eq!(
        steps(overview(&app, &ada).await.unwrap())[0],
        (FillOutProfile, Done)
    );

    let invited = app
        .send(
            Call::post(
                "/api/invitations/invite",
                &[
                    ("organization_id", &org),
                    ("email", "bob@example.com"),
                    ("role", "member"),
                ],
            )
            .session(&ada),
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    assert_eq!(
        steps(overview(&app, &ada).await.unwrap())[2],
        (InviteUsers, Done)
    );

    app.configure_sso(&ada, &org, "acme.example").await;
    assert_eq!(
        steps(overview(&app, &ada).await.unwrap())[3],
        (SetUpSingleSignOn, Started)
    );
}

#[tokio::test]
async fn a_member_who_joined_counts_as_invited_and_only_owners_see_the_steps() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let org = app.create_organization(&ada, "Acme").await;
    for (name, role) in [("Max", Role::Member), ("Ann", Role::Admin)] {
        let session = app.sign_up(name, &format!("{name}@example.com")).await;
        app.join(&session, &org, role).await;
        let seen = overview(&app, &session).await.unwrap();
        assert_eq!(seen.next_steps, None, "{name} is not an owner");
        assert_eq!(seen.name, "Acme", "the facts stay");
    }
    assert_eq!(
        steps(overview(&app, &ada).await.unwrap())[2],
        (NextStepKind::InviteUsers, StepStatus::Done)
    );
}

#[tokio::test]
async fn the_navigation_names_the_current_organization() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let none: Option<CurrentOrganizationView> = app
        .call_json("/api/organizations/current", &[], Some(&ada))
        .await;
    assert_eq!(none, None);
    let page = app.get("/settings", Some(&ada)).await;
    assert!(page.body.contains("No organization yet"), "{}", page.body);

    let first = app.create_organization(&ada, "First Clinic").await;
    app.create_organization(&ada, "Second Clinic").await;
    let current: Option<CurrentOrganizationView> = app
        .call_json("/api/organizations/current", &[], Some(&ada))
        .await;
    assert_eq!(current.unwrap().name, "Second Clinic");
    app.send(Call::post("/api/organizations/switch", &[("organization_id", &first)]).session(&ada))
        .await;
    let page = app.get("/settings", Some(&ada)).await;
    let nav = &page.body[page.body.find("<nav").unwrap()..page.body.find("</nav>").unwrap()];
    assert!(
        nav.contains("First Clinic") && !nav.contains("Second Clinic"),
        "the navigation shows the current organization: {nav}"
    );
    assert!(
        nav.contains("current-org") && nav.contains(r#"href="/organizations""#),
        "it opens Manage Organizations: {nav}"
    );
}

#[tokio::test]
async fn organization_names_are_required_and_bounded() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    for (name, message) in [
        ("   ", "Organization name is required."),
        (
            &*"x".repeat(101),
            "Organization name must be at most 100 characters.",
        ),
    ] {
        let reply = app
            .send(Call::post("/api/organizations/create", &[("name", name)]).session(&ada))
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply.field_error("name"), message);
    }
    assert_eq!(
        organization::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    let signed_out = app
        .send(Call::post("/api/organizations/create", &[("name", "Acme")]))
        .await;
    assert_eq!(signed_out.error(), AppError::Unauthenticated);
}

#[tokio::test]
async fn switching_organizations_survives_a_new_login() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let first = app.create_organization(&ada, "First").await;
    let second = app.create_organization(&ada, "Second").await;
    assert_eq!(
        overview(&app, &ada).await.unwrap().public_id,
        second,
        "the newest is current"
    );

    let reply = app
        .send(Call::post("/api/organizations/switch", &[("organization_id", &first)]).session(&ada))
        .await;
    assert_eq!(reply.redirected_to(), Some("/organization"));
    assert_eq!(overview(&app, &ada).await.unwrap().public_id, first);

    let again = app
        .log_in("ada@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    assert_eq!(overview(&app, &again).await.unwrap().public_id, first);
    let list = mine(&app, &again).await;
    assert_eq!(
        list.iter()
            .map(|o| (o.name.as_str(), o.current))
            .collect::<Vec<_>>(),
        [("First", true), ("Second", false)]
    );
}

#[tokio::test]
async fn nobody_switches_into_an_organization_they_do_not_belong_to() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let bob = app.sign_up("Bob", "bob@example.com").await;
    let adas = app.create_organization(&ada, "Ada's").await;
    let reply = app
        .send(Call::post("/api/organizations/switch", &[("organization_id", &adas)]).session(&bob))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(overview(&app, &bob).await, None);
}

/// Gives the user `count` memberships directly, as if they had joined that many.
async fn seed_memberships(app: &TestApp, session: &str, count: usize) {
    let user_id = app.user_id(session).await;
    let now = chrono::Utc::now();
    let orgs: Vec<organization::ActiveModel> = (0..count)
        .map(|i| organization::ActiveModel {
            public_id: Set(format!("org_seed{i:032}")),
            name: Set(format!("Seeded {i}")),
            stage: Set(app::organizations::rules::Stage::Free),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    organization::Entity::insert_many(orgs)
        .exec(&app.db)
        .await
        .unwrap();
    let ids: Vec<i32> = organization::Entity::find()
        .filter(organization::Column::PublicId.starts_with("org_seed"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    membership::Entity::insert_many(ids.iter().map(|&id| membership::ActiveModel {
        organization_id: Set(id),
        user_id: Set(user_id),
        role: Set(Role::Member),
        created_at: Set(now),
        selected_at: Set(now - chrono::Duration::days(1)),
        ..Default::default()
    }))
    .exec(&app.db)
    .await
    .unwrap();
    user::Entity::update_many()
        .col_expr(
            user::Column::MembershipCount,
            sea_orm::sea_query::Expr::value(count as i32),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(&app.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_user_belongs_to_at_most_400_organizations() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    seed_memberships(&app, &ada, 399).await;
    app.create_organization(&ada, "Number 400").await;

    let reply = app
        .send(Call::post("/api/organizations/create", &[("name", "Number 401")]).session(&ada))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    match reply.error() {
        AppError::Forbidden(message) => assert!(message.contains("400 organizations"), "{message}"),
        other => panic!("expected the limit, got {other:?}"),
    }
    let user_id = app.user_id(&ada).await;
    let count = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 400);
    let orphan = organization::Entity::find()
        .filter(organization::Column::Name.eq("Number 401"))
        .one(&app.db)
        .await
        .unwrap();
    assert!(
        orphan.is_none(),
        "the refused organization was not left behind"
    );
}

#[tokio::test]
async fn the_limit_holds_under_concurrent_creates() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    seed_memberships(&app, &ada, 395).await;
    let attempts = (0..10).map(|i| {
        let app = &app;
        let ada = &ada;
        async move {
            let name = format!("Concurrent {i}");
            app.send(Call::post("/api/organizations/create", &[("name", &name)]).session(ada))
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let created = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::FORBIDDEN)
        .count();
    assert_eq!((created, refused), (5, 5), "{statuses:?}");
    let user_id = app.user_id(&ada).await;
    let memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(memberships, 400);
    let stored = user::Entity::find_by_id(user_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.membership_count, 400);
}

fn profile_form<'a>(
    public_id: &'a str,
    overrides: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("organization_id", public_id),
        ("name", "Acme Health"),
        ("alert_email", "alerts@acme.example"),
        ("overview", "We connect clinics."),
        ("sales_email", "sales@acme.example"),
        ("phone", "+1 (415) 555-0123"),
        ("website", "https://acme.example"),
        ("x_handle", "@acme_health"),
    ];
    for (key, value) in overrides {
        form.iter_mut().find(|(k, _)| k == key).unwrap().1 = value;
    }
    form
}

#[tokio::test]
async fn owners_save_the_profile_normalized() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let org = app.create_organization(&ada, "Acme").await;
    let reply = app
        .send(
            Call::post(
                "/api/organizations/update_profile",
                &profile_form(&org, &[]),
            )
            .session(&ada),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let saved = profile(&app, &ada).await;
    assert_eq!(saved.name, "Acme Health");
    assert_eq!(saved.public_id, org, "the ID never changes");
    assert_eq!(saved.phone, "+14155550123");
    assert_eq!(saved.x_handle, "acme_health");
    assert_eq!(saved.website, "https://acme.example/");
    assert_eq!(saved.alert_email, "alerts@acme.example");
}

#[tokio::test]
async fn every_profile_rule_names_its_field_and_changes_nothing() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let org = app.create_organization(&ada, "Acme").await;
    let long_overview = "o".repeat(2001);
    let cases: &[(&str, &str, &str)] = &[
        ("name", "", "Organization name is required."),
        (
            "alert_email",
            "a@acme.example, b@acme.example",
            "Alert email must be a single address like name@example.com.",
        ),
        (
            "sales_email",
            "sales at acme",
            "Sales email must be a single address like name@example.com.",
        ),
        (
            "phone",
            "555 0123",
            "Phone must be an international number: + and the country code, e.g. +1 415 555 0123.",
        ),
        (
            "phone",
            "+1 555",
            "Phone is not a valid number for its country code.",
        ),
        (
            "website",
            "acme.example",
            "Public website must be an http:// or https:// address, e.g. https://example.com.",
        ),
        (
            "website",
            "javascript:alert(1)",
            "Public website must be an http:// or https:// address, e.g. https://example.com.",
        ),
        (
            "x_handle",
            "@acme-health",
            "Twitter (X) handle must be 1 to 15 letters, digits or underscores, like @orgdesk.",
        ),
        (
            "x_handle",
            "@a_handle_too_long",
            "Twitter (X) handle must be 1 to 15 letters, digits or underscores, like @orgdesk.",
        ),
        (
            "overview",
            &long_overview,
            "Company overview must be at most 2000 characters (it has 2001).",
        ),
    ];
    for (field, value, message) in cases {
        let form = profile_form(&org, &[(field, value)]);
        let reply = app
            .send(Call::post("/api/organizations/update_profile", &form).session(&ada))
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        let got = reply.field_error(field);
        assert!(
            got.starts_with(&message[..message.len().min(40)]),
            "{field}: {got}"
        );
    }
    let unchanged = profile(&app, &ada).await;
    assert_eq!(unchanged.name, "Acme");
    assert_eq!(unchanged.phone, "");
}

#[tokio::test]
async fn only_owners_change_the_profile() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let admin = app.sign_up("Adam Admin", "adam@example.com").await;
    let member = app.sign_up("Mia Member", "mia@example.com").await;
    let outsider = app.sign_up("Oscar Outsider", "oscar@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    app.join(&admin, &org, Role::Admin).await;
    app.join(&member, &org, Role::Member).await;
    app.create_organization(&outsider, "Elsewhere").await;

    for (who, expected) in [
        (&admin, "Only owners can change the organization profile."),
        (&member, "Only owners can change the organization profile."),
        (&outsider, "You are not a member of this organization."),
    ] {
        let form = profile_form(&org, &[("name", "Hijacked")]);
        let reply = app
            .send(Call::post("/api/organizations/update_profile", &form).session(who))
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.error(), AppError::Forbidden(expected.into()));
        let upload = app
            .send_multipart(
                "/api/organizations/upload_logo",
                who,
                &[("organization_id", &org)],
                &[("logo", "logo.png", "image/png", &png_image(64, 64))],
            )
            .await;
        assert_eq!(upload.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        profile(&app, &member).await.name,
        "Acme",
        "members read the profile"
    );
    assert_eq!(profile(&app, &member).await.role, Role::Member);
    assert_eq!(
        organization_logo::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}

pub fn png_image(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

/// A decompression bomb: a PNG whose header claims 20,000 × 20,000 pixels (1.6 GB decoded
/// as RGBA) in well under a kilobyte. Made by encoding a real 20,000 × 8 image and raising
/// the height in its header (with the header's checksum fixed, so it parses as valid).
fn png_bomb() -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, 20_000, 8);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&vec![0u8; 20_000 / 8 * 8]).unwrap();
    }
    // Signature (8 bytes), IHDR length and type (8), width (4), then the height (4).
    bytes[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let crc = crc32fast::hash(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[tokio::test]
async fn a_logo_is_reencoded_served_and_replaced() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let org = app.create_organization(&ada, "Acme").await;
    let reply = app
        .send_multipart(
            "/api/organizations/upload_logo",
            &ada,
            &[("organization_id", &org)],
            &[("logo", "logo.png", "image/png", &png_image(600, 300))],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let first: LogoView = serde_json::from_str(&reply.body).unwrap();
    assert!(first.logo_url.starts_with(&format!("/logos/{org}/")));

    let served = app.get(&first.logo_url, None).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.headers["content-type"], "image/png");
    assert_eq!(served.headers["x-content-type-options"], "nosniff");
    assert!(served.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let stored = organization_logo::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let decoded = image::load_from_memory(&stored.image).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (256, 256),
        "a square thumbnail"
    );

    let jpeg = {
        let image = image::RgbImage::from_pixel(300, 300, image::Rgb([10, 200, 30]));
        let mut bytes = Vec::new();
        image
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        bytes
    };
    let again = app
        .send_multipart(
            "/api/organizations/upload_logo",
            &ada,
            &[("organization_id", &org)],
            &[("logo", "new.jpg", "image/jpeg", &jpeg)],
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let second: LogoView = serde_json::from_str(&again.body).unwrap();
    assert_ne!(first.logo_url, second.logo_url);
    assert_eq!(
        app.get(&first.logo_url, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get(&second.logo_url, None).await.status, StatusCode::OK);
    assert_eq!(
        organization_logo::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        profile(&app, &ada).await.logo_url.as_deref(),
        Some(second.logo_url.as_str())
    );
}

#[tokio::test]
async fn hostile_logo_uploads_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let org = app.create_organization(&ada, "Acme").await;
    let png = png_image(120, 80);
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let bomb = png_bomb();
    assert!(
        bomb.len() < 4 * 1024,
        "the bomb is small: {} bytes",
        bomb.len()
    );
    let truncated = &png[..png.len() / 2];
    let cases: &[(&str, &str, &[u8], &str)] = &[
        (
            "logo.jpg",
            "image/jpeg",
            &png,
            "The file is a PNG image but is named or sent as JPEG.",
        ),
        (
            "logo.svg",
            "image/svg+xml",
            svg,
            "SVG logos are not accepted",
        ),
        (
            "huge.png",
            "image/png",
            &bomb,
            "The logo must be at most 4,096 × 4,096 pixels (this one is 20000 × 20000).",
        ),
        (
            "cut.png",
            "image/png",
            truncated,
            "The logo file is damaged or incomplete.",
        ),
        (
            "logo.png",
            "image/png",
            b"just some text, not an image",
            "The logo must be a PNG, JPEG, GIF or WebP image.",
        ),
        (
            "empty.png",
            "image/png",
            b"",
            "Choose an image file for the logo.",
        ),
    ];
    for (file_name, content_type, bytes, message) in cases {
        let reply = app
            .send_multipart(
                "/api/organizations/upload_logo",
                &ada,
                &[("organization_id", &org)],
                &[("logo", file_name, content_type, bytes)],
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{file_name}: {}",
            reply.body
        );
        let got = reply.field_error("logo");
        assert!(got.starts_with(message), "{file_name}: {got}");
    }
    let oversized = vec![0u8; 2 * 1024 * 1024 + 1];
    let reply = app
        .send_multipart(
            "/api/organizations/upload_logo",
            &ada,
            &[("organization_id", &org)],
            &[("logo", "big.png", "image/png", &oversized)],
        )
        .await;
    assert_eq!(reply.field_error("logo"), "The logo must be at most 2 MiB.");

    assert_eq!(
        organization_logo::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(profile(&app, &ada).await.logo_url, None);
}

#[tokio::test]
async fn deleting_needs_the_exact_name_and_takes_everything_with_it() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia", "olivia@example.com").await;
    let admin = app.sign_up("Adam", "adam@example.com").await;
    let org = app.create_organization(&owner, "Acme Health").await;
    app.join(&admin, &org, Role::Admin).await;
    app.send_multipart(
        "/api/organizations/upload_logo",
        &owner,
        &[("organization_id", &org)],
        &[("logo", "logo.png", "image/png", &png_image(64, 64))],
    )
    .await;

    let by_admin = app
        .send(
            Call::post(
                "/api/organizations/delete",
                &[("organization_id", &org), ("confirm_name", "Acme Health")],
            )
            .session(&admin),
        )
        .await;
    assert_eq!(
        by_admin.error(),
        AppError::Forbidden("Only owners can delete the organization.".into())
    );

    let misspelled = app
        .send(
            Call::post(
                "/api/organizations/delete",
                &[("organization_id", &org), ("confirm_name", "acme health")],
            )
            .session(&owner),
        )
        .await;
    assert!(misspelled
        .field_error("confirm_name")
        .starts_with("Type the organization's name exactly"));
    assert_eq!(
        organization::Entity::find().count(&app.db).await.unwrap(),
        1
    );

    let deleted = app
        .send(
            Call::post(
                "/api/organizations/delete",
                &[("organization_id", &org), ("confirm_name", "Acme Health")],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(
        organization::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    assert_eq!(membership::Entity::find().count(&app.db).await.unwrap(), 0);
    assert_eq!(
        organization_logo::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    for user in user::Entity::find().all(&app.db).await.unwrap() {
        assert_eq!(user.membership_count, 0, "{} was released", user.name);
    }
}

#[tokio::test]
async fn organizations_in_production_cannot_be_deleted() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let said = server::staff::set_stage(&app.db, &org, "production")
        .await
        .unwrap();
    assert!(said.contains("production"));
    let reply = app
        .send(
            Call::post(
                "/api/organizations/delete",
                &[("organization_id", &org), ("confirm_name", "Acme")],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        overview(&app, &owner).await.unwrap().stage,
        app::organizations::rules::Stage::Production
    );
}

#[tokio::test]
async fn staff_list_organizations_and_change_their_stage() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    server::staff::set_stage(&app.db, &org, "preproduction")
        .await
        .unwrap();
    let listing = server::staff::list_organizations(&app.db).await.unwrap();
    let line = listing.lines().find(|l| l.contains(&org)).unwrap();
    assert!(
        line.contains("preproduction") && line.ends_with("Acme"),
        "{line}"
    );
    assert!(server::staff::set_stage(&app.db, &org, "enterprise")
        .await
        .is_err());
    assert!(server::staff::set_stage(&app.db, "org_missing", "free")
        .await
        .is_err());
}

#[tokio::test]
async fn the_public_directory_lists_filled_profiles_searchably_and_hides_private_fields() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let mut filled = Vec::new();
    for i in 0..23 {
        let name = format!("Clinic {i:02}");
        let org = app.create_organization(&ada, &name).await;
        let form = profile_form(&org, &[("name", &name)]);
        let reply = app
            .send(Call::post("/api/organizations/update_profile", &form).session(&ada))
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        filled.push(org);
    }
    app.create_organization(&ada, "Empty Profile").await;

    let first: DirectoryPage = app
        .call_json(
            "/api/organizations/directory",
            &[("query", ""), ("page", "1")],
            None,
        )
        .await;
    assert_eq!((first.total, first.pages, first.entries.len()), (23, 2, 20));
    assert_eq!(first.entries[0].name, "Clinic 00");
    let second: DirectoryPage = app
        .call_json(
            "/api/organizations/directory",
            &[("query", ""), ("page", "2")],
            None,
        )
        .await;
    assert_eq!(second.entries.len(), 3);

    let found: DirectoryPage = app
        .call_json(
            "/api/organizations/directory",
            &[("query", "CLINIC 1"), ("page", "1")],
            None,
        )
        .await;
    assert_eq!(found.total, 10, "case-insensitive search by name");
    let wildcard: DirectoryPage = app
        .call_json(
            "/api/organizations/directory",
            &[("query", "%"), ("page", "1")],
            None,
        )
        .await;
    assert_eq!(wildcard.total, 0, "search text is matched literally");

    let page = app.get("/directory?q=Clinic%2000", None).await;
    assert_eq!(page.status, StatusCode::OK, "no login needed");
    assert!(page.body.contains("Clinic 00"));
    assert!(
        !page.body.contains(&filled[0]),
        "the organization ID is private"
    );
    assert!(
        !page.body.contains("alerts@acme.example"),
        "the alert email is private"
    );
}

#[tokio::test]
async fn staff_add_an_existing_account_to_an_organization() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia", "olivia@example.com").await;
    let mia = app.sign_up("Mia", "mia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let said = server::staff::add_member(&app.db, &org, " MIA@example.com ", "member")
        .await
        .unwrap();
    assert!(
        said.contains("mia@example.com is now a member of Acme"),
        "{said}"
    );
    assert_eq!(overview(&app, &mia).await.unwrap().role, Role::Member);
    for (email, role, wanted) in [
        ("mia@example.com", "member", "already belongs"),
        ("nobody@example.com", "member", "no account"),
        ("mia@example.com", "boss", "unknown role"),
    ] {
        let err = server::staff::add_member(&app.db, &org, email, role)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(wanted), "{err}");
    }
}

#[tokio::test]
async fn a_user_in_many_organizations_gets_them_a_page_at_a_time_and_can_search() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    for i in 0..30 {
        app.create_organization(&ada, &format!("Org {i:02}")).await;
    }
    // The newest is current (creating one makes it current), and it is on page 2.
    let first_page = my_organizations(&app, &ada, "", 1).await;
    assert_eq!((first_page.total, first_page.pages), (30, 2));
    assert_eq!(first_page.organizations.len(), 25);
    assert_eq!(first_page.organizations[0].name, "Org 00");
    let current = first_page.current.clone().expect("a current organization");
    assert_eq!(
        current.name, "Org 29",
        "the newest is current, though on page 2"
    );
    assert!(first_page.organizations.iter().all(|o| !o.current));
    let second_page = my_organizations(&app, &ada, "", 2).await;
    assert_eq!(second_page.organizations.len(), 5);
    assert!(second_page
        .organizations
        .iter()
        .any(|o| o.current && o.name == "Org 29"));
    assert_eq!(
        my_organizations(&app, &ada, "", 99).await.page,
        2,
        "clamped"
    );

    let found = my_organizations(&app, &ada, "org 1", 1).await;
    assert_eq!(found.total, 10, "Org 10 to Org 19, any case");
    assert_eq!(
        my_organizations(&app, &ada, "%", 1).await.total,
        0,
        "literally"
    );

    // The page shows the search and the page links; without JavaScript too.
    let page = app.get("/organizations?page=2", Some(&ada)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Search your organizations by name"));
    assert!(page.body.contains("Page 2 of 2"));
    assert!(page.body.contains("Org 29"));
    assert!(!page.body.contains("Org 00"));
}

#[tokio::test]
async fn each_settings_area_is_a_page_of_its_own() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia", "olivia@example.com").await;
    app.create_organization(&owner, "Acme").await;
    let areas = [
        ("security", "security-heading", "Security"),
        ("domains", "domains-heading", "Domains"),
        ("sso", "sso-heading", "Single sign-on"),
        ("delete", "delete-heading", "Delete organization"),
    ];
    for (area, heading, label) in areas {
        let page = app
            .get(
                &format!("/organization/profile?tab=settings&area={area}"),
                Some(&owner),
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{area}");
        // Its own section, and none of the others'.
        for (_, other, _) in areas {
            assert_eq!(
                page.body.contains(&format!("id=\"{other}\"")),
                other == heading,
                "{area} page and {other}"
            );
        }
        // The navigation links every area and marks this one.
        assert!(page.body.contains("aria-label=\"Settings\""), "{area}");
        // (The text may carry a hydration marker after it: `<!>`.)
        let current = format!("aria-current=\"page\">{label}<");
        assert!(page.body.contains(&current), "{area}: {current}");
        assert_eq!(
            page.body.matches("aria-current=\"page\"").count(),
            1,
            "{area}"
        );
        assert!(
            page.body.contains(&format!(
                "<title>{label} · Organization Profile · Orgdesk</title>"
            )),
            "{area}"
        );
    }
    // No area named, or an unknown one: Security.
    for url in [
        "/organization/profile?tab=settings",
        "/organization/profile?tab=settings&area=nope",
    ] {
        let page = app.get(url, Some(&owner)).await;
        assert!(page.body.contains("id=\"security-heading\""), "{url}");
    }
}
