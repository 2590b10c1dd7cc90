//! The buyer queue (叫号) and the lists behind it: the audited buyer list and the notary's
//! lottery order, imported as CSV.
//!
//! `called_up_to` is the highest lottery number ever called, so recalling a skipped buyer
//! does not send the queue back over buyers already served.

use kam_core::model::SelectionMode;
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::command::STALE_STATE;
use super::context::{Ctx, Step, refuse};
use crate::db::desk::DeskState;
use crate::db::desk::state::NewBuyer;
use crate::error::ServerError;

/// Refuses a queue command made while the sender saw `seen` being served (0: nobody yet)
/// when the desk now serves another number.
fn require_serving(ctx: &Ctx<'_>, seen: u32) -> Step<()> {
    let now = ctx.event.now_serving.unwrap_or(0);
    if now != seen {
        return refuse(
            STALE_STATE,
            format!(
                "叫号已变为{now}号 (the queue has moved on: number {now} is being served, not {seen})"
            ),
        );
    }
    Ok(())
}

/// Calls the next lottery number after every number called so far, if the sender still saw
/// the number being served now (`seen`, 0 before anyone was called).
pub(crate) fn call_next(ctx: &mut Ctx<'_>, seen: u32) -> Step<Value> {
    require_serving(ctx, seen)?;
    advance(ctx, None)
}

/// Marks the buyer now called, `lottery_no`, as skipped (过号) and calls the next number.
pub(crate) fn skip(ctx: &mut Ctx<'_>, lottery_no: u32) -> Step<Value> {
    let Some(current) = ctx.event.now_serving else {
        return refuse("nobody_called", "还没有叫号 (no number has been called)");
    };
    require_serving(ctx, lottery_no)?;
    ctx.db.skip_buyer(&ctx.event.event_id, current)?;
    advance(ctx, Some(current))
}

fn advance(ctx: &mut Ctx<'_>, skipped: Option<u32>) -> Step<Value> {
    let next = ctx.db.next_to_call(&ctx.event.event_id)?;
    let Some((number, buyer_id)) = next else {
        return refuse("queue_empty", "所有号码都已叫过 (every number has been called)");
    };
    set_serving(ctx, number, true)?;
    let entry = json!({ "now_serving": number, "buyer_id": buyer_id, "skipped": skipped });
    ctx.record("call", &entry)?;
    Ok(entry)
}

fn set_serving(ctx: &mut Ctx<'_>, number: u32, advance_high_water: bool) -> Step<()> {
    ctx.db.set_now_serving(&ctx.event.event_id, number, advance_high_water)?;
    ctx.event.now_serving = Some(number);
    Ok(())
}

/// Calls a skipped buyer again.
pub(crate) fn recall(ctx: &mut Ctx<'_>, lottery_no: u32) -> Step<Value> {
    let buyer = ctx.db.buyer_by_number(&ctx.event.event_id, lottery_no)?;
    let Some((buyer_id, skipped)) = buyer else {
        return refuse(
            "no_such_number",
            format!("没有{lottery_no}号 (no buyer has number {lottery_no})"),
        );
    };
    if !skipped {
        return refuse(
            "not_skipped",
            format!("{lottery_no}号没有过号 (number {lottery_no} was not skipped)"),
        );
    }
    ctx.db.unskip_buyer(&ctx.event.event_id, &buyer_id)?;
    set_serving(ctx, lottery_no, false)?;
    let entry = json!({ "now_serving": lottery_no, "buyer_id": buyer_id, "recalled": true });
    ctx.record("recall", &entry)?;
    Ok(entry)
}

/// Checks the ID number a person presents against the listed buyer they say they are. A
/// match is recorded in the ledger (who checked whom, never the number); a mismatch is
/// refused and changes nothing.
pub(crate) fn check_identity(ctx: &mut Ctx<'_>, buyer_id: &str, id_number: &str) -> Step<Value> {
    if !valid_id_number(id_number.trim()) {
        return refuse("invalid_id_number", "身份证号无效 (not a valid ID number)");
    }
    let listed = ctx.db.buyer_identity(&ctx.event.event_id, buyer_id)?;
    let Some(listed) = listed else {
        return refuse("not_on_list", "不在名单上 (the buyer is not on the approved list)");
    };
    let (masked, lottery_no) = (listed.id_number_masked, listed.lottery_no);
    if hash_id_number(ctx.db, id_number)? != listed.id_number_hash {
        return refuse("identity_mismatch", "身份证与名单不符 (the ID does not match the list)");
    }
    let entry = json!({ "buyer_id": buyer_id, "lottery_no": lottery_no, "id_number_masked": masked,
                        "matches": true });
    ctx.record("identity_checked", &entry)?;
    Ok(entry)
}

/// Switches the event between strict lottery order and free selection.
pub(crate) fn set_mode(ctx: &mut Ctx<'_>, mode: SelectionMode) -> Step<Value> {
    ctx.db.set_mode(&ctx.event.event_id, mode)?;
    let entry = json!({ "mode": mode.as_str() });
    ctx.record("set_mode", &entry)?;
    Ok(entry)
}

/// One parsed CSV line: its line number and fields.
type CsvLine = (usize, Vec<String>);

/// Splits CSV text into trimmed fields per non-empty line. Names and ID numbers hold no
/// commas or quotes, so quoted fields are refused rather than half-understood.
fn csv_lines(csv: &str, fields: usize) -> Result<Vec<CsvLine>, String> {
    let mut lines = Vec::new();
    for (i, line) in csv.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        if line.contains('"') {
            return Err(format!("line {}: quoted fields are not supported", i + 1));
        }
        let cols: Vec<String> = line.split(',').map(|c| c.trim().to_owned()).collect();
        if cols.len() != fields {
            return Err(format!("line {}: expected {fields} fields, found {}", i + 1, cols.len()));
        }
        lines.push((i + 1, cols));
    }
    Ok(lines)
}

/// Whether `id` is a valid 18-character resident ID number (GB 11643: 17 digits and an
/// ISO 7064 MOD 11-2 check character).
pub(crate) fn valid_id_number(id: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let bytes = id.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = bytes[..17].iter().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    CHECK[(sum % 11) as usize] == bytes[17].to_ascii_uppercase()
}

/// The masked form shown at the desk: the first four and last four characters.
pub(crate) fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

/// The desk's secret salt for ID numbers, created on first use.
fn id_salt(desk: &dyn DeskState) -> Result<String, ServerError> {
    if let Some(salt) = desk.id_number_salt()? {
        return Ok(salt);
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let salt = hex::encode(bytes);
    desk.set_id_number_salt(&salt)?;
    Ok(salt)
}

/// The salted hash an ID number is kept as.
pub(crate) fn hash_id_number(desk: &dyn DeskState, id: &str) -> Result<String, ServerError> {
    let salt = id_salt(desk)?;
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(id.trim().to_ascii_uppercase().as_bytes());
    Ok(hex::encode(h.finalize()))
}

/// Lines of the form `name,id_number`, skipping a header line.
fn parse_people(csv: &str, fields: usize) -> Result<Vec<CsvLine>, String> {
    let mut lines = csv_lines(csv, fields)?;
    if lines.first().is_some_and(|(_, cols)| !cols[fields - 1].chars().any(|c| c.is_ascii_digit()))
    {
        // A first line whose ID column has no digit at all is a header; one with a mistyped
        // ID number is data and is reported below.
        lines.remove(0);
    }
    let bad: Vec<String> = lines
        .iter()
        .filter(|(_, cols)| !valid_id_number(&cols[fields - 1]) || cols[fields - 2].is_empty())
        .map(|(n, _)| n.to_string())
        .collect();
    if !bad.is_empty() {
        return Err(format!("invalid name or ID number on line(s) {}", bad.join(", ")));
    }
    Ok(lines)
}

/// Adds buyers to the approved list. Buyers already listed (same ID number) are left as
/// they are, so importing the same audited list twice changes nothing.
pub(crate) fn import_buyers(ctx: &mut Ctx<'_>, csv: &str) -> Step<Value> {
    let lines = match parse_people(csv, 2) {
        Ok(lines) => lines,
        Err(reason) => {
            return refuse("invalid_csv", format!("名单格式错误 (buyer list: {reason})"));
        }
    };
    let mut added = Vec::new();
    let mut already = 0;
    for (_, cols) in &lines {
        let hash = hash_id_number(ctx.db, &cols[1])?;
        let buyer_id = Ctx::new_id("buyer");
        let masked = mask_id_number(&cols[1]);
        let buyer = NewBuyer {
            event_id: &ctx.event.event_id,
            buyer_id: &buyer_id,
            name: &cols[0],
            id_number_hash: &hash,
            id_number_masked: &masked,
        };
        if ctx.db.add_buyer(&buyer)? {
            added.push(buyer_id);
        } else {
            already += 1;
        }
    }
    let entry = json!({ "added": added, "already_listed": already });
    ctx.record("buyers_imported", &entry)?;
    Ok(entry)
}

/// Numbers the listed buyers in the notary's lottery order. Every line must name a listed
/// buyer by name and ID number; any mismatch refuses the whole import.
pub(crate) fn import_lottery(ctx: &mut Ctx<'_>, csv: &str) -> Step<Value> {
    let lines = match parse_people(csv, 3) {
        Ok(lines) => lines,
        Err(reason) => {
            return refuse("invalid_csv", format!("摇号结果格式错误 (lottery order: {reason})"));
        }
    };
    let drawn = ctx.db.numbered_buyers(&ctx.event.event_id)?;
    if drawn > 0 {
        return refuse(
            "lottery_already_drawn",
            "摇号顺序已导入 (the lottery order is already set)",
        );
    }
    let mut problems = Vec::new();
    let mut numbered = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (line, cols) in &lines {
        let Ok(number) = cols[0].parse::<u32>() else {
            problems.push(format!("line {line}: order number {}", cols[0]));
            continue;
        };
        if number == 0 || !seen.insert(number) {
            problems.push(format!("line {line}: order number {number} repeated or zero"));
            continue;
        }
        if let Err(e) = kam_core::desk::bounds::check_lottery_no(number) {
            problems.push(format!("line {line}: order number {number} outside {}", e.range));
            continue;
        }
        let hash = hash_id_number(ctx.db, &cols[2])?;
        let listed = ctx.db.buyer_by_id_hash(&ctx.event.event_id, &hash)?;
        match listed {
            Some((buyer_id, name)) if name == cols[1] => numbered.push((number, buyer_id)),
            Some(_) => problems.push(format!("line {line}: name does not match the list")),
            None => problems.push(format!("line {line}: not on the approved list")),
        }
    }
    if !problems.is_empty() {
        return refuse(
            "lottery_mismatch",
            format!(
                "摇号结果与名单不符 (lottery order does not match the list: {})",
                problems.join("; ")
            ),
        );
    }
    for (number, buyer_id) in &numbered {
        ctx.db.number_buyer(&ctx.event.event_id, buyer_id, *number)?;
    }
    let entry = json!({ "numbered": numbered.len() });
    ctx.record("lottery_imported", &entry)?;
    Ok(entry)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_are_checked_with_their_check_character() {
        assert!(valid_id_number("11010519491231002X"));
        assert!(valid_id_number("11010519491231002x"));
        assert!(!valid_id_number("110105194912310021"), "wrong check character");
        assert!(!valid_id_number("1101051949123100"), "too short");
        assert!(!valid_id_number("11010519491231002Y"));
    }

    #[test]
    fn masking_keeps_only_the_ends() {
        assert_eq!(mask_id_number("11010519491231002X"), "1101**********002X");
    }

    #[test]
    fn a_header_line_is_skipped_and_bad_lines_are_named() {
        let ok = parse_people("姓名,身份证号\n张三,11010519491231002X\n", 2).unwrap();
        assert_eq!(ok.len(), 1);
        let bad = parse_people("张三,11010519491231002X\n李四,123\n", 2).unwrap_err();
        assert!(bad.contains("line(s) 2"), "{bad}");
    }
}
