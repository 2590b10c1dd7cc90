//! The people behind the ids: every page shows a rep, an author or a decider by the name they
//! go by, never by their sign-in id.

use std::collections::HashMap;

use crate::db::AccountStore;
use crate::error::ServerError;

/// Users' display names by id, read once per page.
#[derive(Clone, Debug, Default)]
pub struct Names(HashMap<String, String>);

impl Names {
    /// Every user's name.
    pub fn load(db: &dyn AccountStore) -> Result<Names, ServerError> {
        Ok(Names(db.users()?.into_iter().map(|u| (u.user_id, u.display_name)).collect()))
    }

    /// The name `user_id` goes by; an id no user has (an import, a removed user, the command
    /// line) is shown as it is.
    pub fn of<'a>(&'a self, user_id: &'a str) -> &'a str {
        self.0.get(user_id).map_or(user_id, String::as_str)
    }

    /// Whether `user_id` is a user.
    pub fn knows(&self, user_id: &str) -> bool {
        self.0.contains_key(user_id)
    }

    /// Several people's names joined for a table cell.
    pub fn join(&self, user_ids: &[String]) -> String {
        user_ids.iter().map(|id| self.of(id)).collect::<Vec<_>>().join("、")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_id_is_its_name_and_an_unknown_one_itself() {
        let names = Names(HashMap::from([("rep-01".to_owned(), "李伟".to_owned())]));
        assert_eq!(names.of("rep-01"), "李伟");
        assert_eq!(names.of("admin-cli"), "admin-cli");
        assert_eq!(names.join(&["rep-01".into(), "x".into()]), "李伟、x");
    }
}
