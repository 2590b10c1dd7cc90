//! `GET /hq`: where a signed-in person lands. Headquarters see the overview; event staff and
//! finance, who work the selection day, go to their consoles; a field rep is told that reps
//! work in the tablet app, and a venue server's account that it is the venue server's, not
//! left with a bare "access denied".

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::customers::overview_page;
use super::error::{PageError, Refusal};
use super::layout::Here;
use super::session::WebUser;
use crate::auth::Role;
use crate::http::AppState;

/// Where `role` lands instead of the overview, if anywhere.
pub fn landing_for(role: Role) -> Option<&'static str> {
    match role {
        Role::EventStaff | Role::Finance => Some("/console"),
        Role::Rep | Role::Venue | Role::Hq | Role::Admin => None,
    }
}

/// Why `role` is refused the dashboard altogether, if it is: its people work elsewhere.
pub fn works_elsewhere(role: Role) -> Option<Refusal> {
    match role {
        Role::Rep => Some(Refusal::RepUsesTablet),
        Role::Venue => Some(Refusal::VenueUsesServer),
        Role::EventStaff | Role::Finance | Role::Hq | Role::Admin => None,
    }
}

/// The handler.
pub async fn landing(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
) -> Result<Response, PageError> {
    if let Some(why) = works_elsewhere(user.role) {
        return Err(user.refuse(why));
    }
    if let Some(console) = landing_for(user.role) {
        return Ok(Redirect::to(console).into_response());
    }
    Ok(overview_page(State(state), user, here).await?.into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::http::StatusCode;

    use super::Role;
    use crate::web::demo_site_tests::demo_site;

    #[tokio::test]
    async fn staff_and_finance_land_on_their_consoles_and_a_rep_is_sent_to_the_tablet() {
        let site = demo_site(true);
        for who in ["staff-01", "finance-01"] {
            let (cookie, _) = site.sign_in(who).await;
            let (status, headers, _) = site.get("/hq", Some(&cookie)).await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{who}");
            assert_eq!(headers["location"], "/console", "{who}");
        }
        for who in ["hq-01", "admin"] {
            let (cookie, _) = site.sign_in(who).await;
            let (status, _, body) = site.get("/hq", Some(&cookie)).await;
            assert_eq!(status, StatusCode::OK, "{who}");
            assert!(body.contains(r#"id="count-customers""#), "{who}: the overview");
            assert!(body.contains(r#"<a href="/hq/events">选房</a>"#), "{who}: the navigation");
        }
        let (rep, csrf) = site.sign_in("rep-01").await;
        let (status, _, body) = site.get("/hq", Some(&rep)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains(r#"data-code="rep_uses_tablet""#), "{body}");
        assert!(body.contains("客户经理请使用平板应用工作"), "{body}");
        assert!(body.contains(&format!(r#"value="{csrf}""#)), "the sign-out works: {body}");
        let (status, _, body) = site.get("/hq", Some(&format!("{rep}; kam_lang=en"))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("Reps work in the tablet app"), "{body}");
        // Nobody signed in: the sign-in page, which comes back to /hq.
        let (status, headers, _) = site.get("/hq", None).await;
        assert_eq!(
            (status, headers["location"].to_str().unwrap()),
            (StatusCode::SEE_OTHER, "/login?next=/hq")
        );
    }

    #[tokio::test]
    async fn a_venue_servers_account_is_told_it_belongs_to_the_venue_server() {
        let site = demo_site(true);
        site.state
            .with_store(|store| {
                let now = chrono::Utc::now();
                crate::auth::create_user(store.conn(), "venue-01", "Hall", Role::Venue, now)
            })
            .await
            .unwrap();
        let (venue, csrf) = site.sign_in("venue-01").await;
        let desk = format!("/console/events/{}/desk", site.event);
        for path in ["/hq", "/console", desk.as_str()] {
            let (status, _, body) = site.get(path, Some(&venue)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            assert!(body.contains(r#"data-code="venue_uses_server""#), "{path}: {body}");
            assert!(body.contains("现场服务器账号只供现场服务器使用"), "{path}: {body}");
            assert!(body.contains(&format!(r#"value="{csrf}""#)), "the sign-out works: {body}");
        }
        let (_, _, body) = site.get("/hq", Some(&format!("{venue}; kam_lang=en"))).await;
        assert!(body.contains("Venue accounts are for the venue server"), "{body}");
    }
}
