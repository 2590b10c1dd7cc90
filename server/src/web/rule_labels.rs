//! The authority's rules (a refused, compensated write's `rule`) in words, for the violation
//! queue and its file: headquarters reads "客户负责人仅总部可改", not `owners_hq_only`.

use kam_core::rules::WriteRule;

use super::i18n::Lang;

/// The rules the server's authority names besides the permission matrix's
/// (`kam_core::rules::WriteRule`, which carries its own words): (code, zh, en).
const SERVER_RULES: &[(&str, &str, &str)] = &[
    (
        "ticket_status_without_transition",
        "工单状态未经流转",
        "Ticket status changed without a transition",
    ),
    ("ticket_transition_not_allowed", "不允许的工单流转", "Ticket transition not allowed"),
];

/// The rule `code` in words; a rule neither list knows is shown as its code.
pub fn rule_label(lang: Lang, code: &str) -> String {
    if let Some(rule) = WriteRule::from_code(code) {
        let (zh, en) = rule.words();
        return lang.t(zh, en).to_owned();
    }
    SERVER_RULES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map_or_else(|| code.to_owned(), |(_, zh, en)| lang.t(zh, en).to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every rule name the authority's source spells (a string literal ending as the rules'
    /// names do) has its words here: a new rule without them fails this test.
    #[test]
    fn every_rule_the_authority_spells_has_its_words() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sync/authority");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with("_tests.rs") || !name.ends_with(".rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for literal in text.split('"').skip(1).step_by(2) {
                let rule_like = literal.contains('_')
                    && literal.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    && ["_only", "_creator", "_transition", "_not_allowed"]
                        .iter()
                        .any(|end| literal.ends_with(end));
                if rule_like && rule_label(Lang::En, literal) == literal {
                    missing.push(format!("{name}: {literal}"));
                }
            }
        }
        assert!(missing.is_empty(), "rules without words: {missing:?}");
        assert_eq!(rule_label(Lang::Zh, "owners_hq_only"), "客户负责人仅总部可改");
        assert_eq!(rule_label(Lang::En, "some_new_rule"), "some_new_rule");
    }
}
