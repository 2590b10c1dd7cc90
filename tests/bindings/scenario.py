"""A rep's and an event tablet's day through the generated Python bindings of kam-ffi.

Run by tests/tests/bindings.rs against the real kam-server on 127.0.0.1, with the generated
`kam_ffi` module (and the library beside it) on PYTHONPATH. Environment:

  KAM_URL      the server's base URL
  KAM_EVENT    the demo selection event's id
  KAM_WORKDIR  a directory for the replica files
  KAM_PHONE_TOKEN  the token of a second device enrolled for rep-01 (the iPad)

Every step asserts; the last line is `RESULT key=value ...` for the Rust test to check against
the server. Waits are bounded polls.
"""

import asyncio
import json
import datetime
import decimal
import gc
import os
import socket
import sys
import threading
import time

import kam_ffi as kam
from kam_ffi import KamError

URL = os.environ["KAM_URL"]
EVENT = os.environ["KAM_EVENT"]
WORKDIR = os.environ["KAM_WORKDIR"]
FAST = kam.SyncSettings(max_attempts=3, initial_backoff_ms=10, max_backoff_ms=100)
OFFLINE_URL = "http://127.0.0.1:9"  # nothing listens there: the venue's Wi-Fi is down
PHONE_TOKEN = os.environ["KAM_PHONE_TOKEN"]  # a second device enrolled for rep-01
BOUND_S = 30  # how long a bounded wait may take; a bound, not a timing


def say(message):
    print(f"python: {message}", flush=True)


def expect_error(kind, call):
    """Runs `call` and returns the KamError of type `kind` it must raise."""
    try:
        call()
    except kind as error:
        return error
    raise AssertionError(f"expected {kind.__name__}")


class Changes(kam.ChangeListener):
    def __init__(self):
        self.seen = []

    def on_change(self, changes):
        self.seen.append(changes)


class Progress(kam.SyncProgressListener):
    def __init__(self):
        self.rounds = []

    def on_progress(self, progress):
        self.rounds.append(progress)


def sync(replica, server):
    started = time.monotonic()
    report = asyncio.run(replica.sync_now(server))
    return report, (time.monotonic() - started) * 1000


def rep_day():
    """Customer, visit and ticket offline, then sync; a second tablet sees them."""
    rep = kam.KamReplica.open(os.path.join(WORKDIR, "rep.kam"), "rep-01")
    server = kam.KamServer(URL, "kam_demo_rep-01", FAST)
    changes, progress = Changes(), Progress()
    change_handle = rep.add_change_listener(changes)
    progress_handle = rep.add_sync_progress_listener(progress)

    # Offline: nothing here talks to the server.
    customer = rep.create_customer(
        kam.CustomerProfile(
            name="华东精密机械有限公司",
            industry="机械",
            region="华东",
            address="上海市浦东新区",
            leading_brand=True,
            notes="",
        )
    )
    today = datetime.date.today()
    visit = kam.VisitRecord(
        id=kam.new_id(),
        level=kam.VisitLevel.ACCOUNT_MANAGER,
        date=today,
        visitor="rep-01",
        topics=["年度框架协议", "交期"],
        personnel_changes="",
        problems="",
        demand="二季度扩产",
        competitor_activity="",
    )
    rep.upsert_visit(customer.id, visit)
    sales = decimal.Decimal("12500000.50")
    rep.set_annual_sales(customer.id, 2025, sales)
    ticket = rep.open_ticket(
        kam.NewTicket(
            customer_id=customer.id,
            kind=kam.TicketKind.AFTER_SALES,
            priority=kam.TicketPriority.HIGH,
            title="主轴异响",
            description="客户反映主轴运行时异响",
            owner=None,
        )
    )
    # Listeners hear on the replica's notice thread, soon after each edit.
    until("four change notices", lambda: len(changes.seen) == 4)
    assert [c.origin for c in changes.seen] == [kam.ChangeOrigin.LOCAL] * 4, changes.seen
    assert [c.documents[0].id for c in changes.seen] == [customer.id] * 3 + [ticket.id]
    read = rep.customer(customer.id)
    assert read.visits == [visit], read.visits
    assert read.annual_sales[0].amount == sales and isinstance(sales, decimal.Decimal)
    assert isinstance(read.created_at, datetime.datetime) and read.created_at.tzinfo
    assert rep.my_customers_by_tier("rep-01")[0].name == "华东精密机械有限公司"
    assert rep.ticket(ticket.id).status == kam.TicketStatus.NEW
    assert kam.TicketStatus.IN_PROGRESS in ticket.allowed_next
    say(f"offline: customer {customer.id}, visit {visit.id}, ticket {ticket.id}")

    # The error cases an app acts on.
    expect_error(KamError.NotFound, lambda: rep.customer("no-such-customer"))
    invalid = expect_error(
        KamError.InvalidField,
        lambda: rep.set_annual_sales(customer.id, 2025, decimal.Decimal("NaN")),
    )
    refused = expect_error(
        KamError.Rejected,
        lambda: rep.change_ticket_status(ticket.id, kam.TicketStatus.CLOSED, "done"),
    )
    bogus = kam.KamServer(URL, "kam_demo_nobody", FAST)
    expect_error(KamError.Unauthorized, lambda: asyncio.run(rep.sync_now(bogus)))
    offline = kam.KamServer(OFFLINE_URL, "kam_demo_rep-01", kam.SyncSettings(max_attempts=1))
    expect_error(KamError.Network, lambda: asyncio.run(rep.sync_now(offline)))
    say(f"errors: invalid field `{invalid.field}`, rejected `{refused.code}`: {refused.reason}")

    # Online.
    report, ms = sync(rep, server)
    assert report.quiet and report.snapshots_received > 0, report
    until("a progress notice per round", lambda: len(progress.rounds) == report.rounds)
    until("the sync's change notices", lambda: changes.seen[-1].origin == kam.ChangeOrigin.SYNC)
    assert sum(len(c.documents) for c in changes.seen if c.origin == kam.ChangeOrigin.SYNC) >= report.snapshots_received
    mine = rep.my_customers_by_tier("rep-01")
    say(
        f"first sync: {report.rounds} rounds, {report.snapshots_received} documents, "
        f"{report.bytes_received} bytes in {ms:.0f} ms; rep-01 has {len(mine)} customers"
    )
    rep.change_ticket_status(ticket.id, kam.TicketStatus.IN_PROGRESS, "已派工程师")
    rep.add_ticket_reply(ticket.id, "工程师明天上午到现场")
    report, ms = sync(rep, server)
    say(f"second sync: {report.messages_sent} messages sent in {ms:.0f} ms")

    # Cancelled listeners hear nothing more. Notices are delivered in order, so once a fence
    # listener hears an edit made after the sync, the sync's notices have all been delivered.
    def fence(note):
        heard = Changes()
        handle = rep.add_change_listener(heard)
        rep.add_ticket_reply(ticket.id, note)
        until("the fence to hear its edit", lambda: heard.seen)
        handle.cancel()

    fence("备件已寄出")
    change_handle.cancel()
    progress_handle.cancel()
    heard = (len(changes.seen), len(progress.rounds))
    sync(rep, server)
    fence("工程师已到场")
    assert (len(changes.seen), len(progress.rounds)) == heard

    # The rep's iPad, enrolled as a device of its own, gets everything from the server.
    other = kam.KamReplica.open(os.path.join(WORKDIR, "rep-ipad.kam"), "rep-01")
    ipad = kam.KamServer(URL, PHONE_TOKEN, FAST)
    report, ms = sync(other, ipad)
    there = other.customer(customer.id)
    assert there.visits == [visit] and there.annual_sales[0].amount == sales
    assert other.ticket(ticket.id).status == kam.TicketStatus.IN_PROGRESS
    # The fences' replies: the first went up with the sync after it, the second waits.
    assert [r.body for r in other.ticket(ticket.id).replies] == ["工程师明天上午到现场", "备件已寄出"]
    say(f"second tablet: {report.snapshots_received} documents in {ms:.0f} ms, sees all")

    # Both tablets rename the customer offline: after syncing, the field holds both values
    # and the conflict screen lists it; the history says who did what.
    doc = kam.DocumentRef(kind=kam.DocKind.CUSTOMER, id=customer.id)
    for replica, name in ((rep, "华东精密机械股份有限公司"), (other, "华东精密（集团）")):
        profile = replica.customer(customer.id).profile
        profile.name = name
        replica.update_customer_profile(customer.id, profile)
    for replica, to in ((rep, server), (other, ipad), (rep, server)):
        sync(replica, to)
    conflicts = rep.conflicts(doc)
    assert [c.path for c in conflicts] == ["/profile/name"], conflicts
    assert sorted(conflicts[0].values) == sorted(["华东精密机械股份有限公司", "华东精密（集团）"])
    actions = [h.meta.action for h in rep.history(doc) if h.meta]
    assert actions[0] == "customer.create" and actions.count("customer.update_profile") == 2
    assert customer.id in [row.id for row in rep.search_customers("华东精密", 50)]
    say(f"conflict on {conflicts[0].path}: {conflicts[0].values}; {len(actions)} changes in history")
    return {"customer": customer.id, "visit": visit.id, "ticket": ticket.id}


class Rows(kam.CustomerRowsListener):
    """A watch's emissions, in order."""

    def __init__(self):
        self.emitted = []

    def on_rows(self, rows):
        self.emitted.append(rows)

    def on_error(self, error):
        self.emitted.append(error)


class Statuses(kam.SyncStatusListener):
    def __init__(self):
        self.seen = []

    def on_status(self, status):
        self.seen.append(status)


def until(what, done):
    """Polls `done` until it holds, within the bound."""
    deadline = time.monotonic() + BOUND_S
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def black_hole():
    """A server that accepts connections and never answers."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(50)
    held = []

    def accept():
        while True:
            try:
                held.append(hole.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return hole, held


def sdk_day():
    """Readers never wait on the network, cancelling frees the replica, the watch and the
    status follow, listeners may call back in, and one token is one installation."""
    rep = kam.KamReplica.open(os.path.join(WORKDIR, "rep.kam"), "rep-01")
    server = kam.KamServer(URL, "kam_demo_rep-01", FAST)
    hole, held = black_hole()
    nowhere = kam.KamServer(f"http://127.0.0.1:{hole.getsockname()[1]}", "kam_demo_rep-01", FAST)

    async def query_during_sync_then_cancel():
        sync_task = asyncio.ensure_future(rep.sync_now(nowhere))
        deadline = time.monotonic() + BOUND_S
        while not held:
            assert time.monotonic() < deadline, "the sync never reached the black hole"
            await asyncio.sleep(0.005)
        started = time.monotonic()
        rows = rep.my_customers_by_tier("rep-01")
        query_ms = (time.monotonic() - started) * 1000
        assert rows and not sync_task.done(), "the query answered while the sync is under way"
        started = time.monotonic()
        sync_task.cancel()
        try:
            await sync_task
        except asyncio.CancelledError:
            pass
        rep.set_annual_sales(rows[0].id, 2023, decimal.Decimal("1.00"))
        return query_ms, (time.monotonic() - started) * 1000, len(rows)

    query_ms, freed_ms, count = asyncio.run(query_during_sync_then_cancel())
    hole.close()
    say(f"list query during a sync to an unreachable server: {query_ms:.2f} ms (goal < 50 ms), {count} rows")
    say(f"sync cancelled: replica free for an edit in {freed_ms:.2f} ms (goal ≤ 100 ms)")

    class Log(kam.KamLogger):
        def __init__(self):
            self.lines = []

        def log(self, level, target, message):
            self.lines.append((level, target, message))

    log = Log()
    kam.set_logger(log, kam.LogLevel.INFO)
    retrying = kam.KamServer(OFFLINE_URL, "kam_demo_rep-01",
                             kam.SyncSettings(max_attempts=2, initial_backoff_ms=1))
    expect_error(KamError.Network, lambda: asyncio.run(rep.sync_now(retrying)))
    warned = [line for line in log.lines if line[0] == kam.LogLevel.WARN]
    assert any(t.startswith("kam_core") and "retrying" in m for _, t, m in warned), log.lines
    assert not any(level == kam.LogLevel.DEBUG for level, _, _ in log.lines), "above INFO only"
    assert not any("华东精密" in m for _, _, m in log.lines), "no personal data"
    say(f"logging hook: {len(log.lines)} lines at INFO and above, e.g. {warned[0][1]}: {warned[0][2][:60]}")

    statuses = Statuses()
    status_handle = rep.watch_sync_status(statuses)
    offline = kam.KamServer(OFFLINE_URL, "kam_demo_rep-01", kam.SyncSettings(max_attempts=1))
    expect_error(KamError.Network, lambda: asyncio.run(rep.sync_now(offline)))
    until("offline", lambda: statuses.seen and statuses.seen[-1].is_OFFLINE())
    pending = rep.pending_uploads()
    assert pending.documents >= 1, pending
    sync(rep, server)
    until("idle", lambda: statuses.seen[-1].is_IDLE() and statuses.seen[-1].last_synced_at)
    kinds = [type(s).__name__ for s in statuses.seen]
    offline_at = next(i for i, s in enumerate(statuses.seen) if s.is_OFFLINE())
    syncing = [i for i, s in enumerate(statuses.seen) if s.is_CONNECTING() or s.is_UPLOADING()]
    assert any(offline_at < i < len(statuses.seen) - 1 for i in syncing), kinds
    assert rep.pending_uploads().documents == 0
    status_handle.cancel()
    say("status stream: " + " → ".join(kinds))

    rows = Rows()
    watch = rep.watch_my_customers("rep-01", rows)
    until("the first rows", lambda: rows.emitted)
    first = len(rows.emitted[0])

    class CallsBack(kam.ChangeListener):
        def on_change(self, changes):
            rep.my_customers_by_tier("rep-01")
            rep.pending_uploads()

    callback = rep.add_change_listener(CallsBack())
    profile = kam.CustomerProfile(name="华中电气", industry="电气", region="华中",
                                  address="武汉市", leading_brand=False, notes="")
    local = rep.create_customer(profile)
    until("the local edit's rows", lambda: any(r.id == local.id for r in rows.emitted[-1]))
    ipad = kam.KamReplica.open(os.path.join(WORKDIR, "rep-ipad.kam"), "rep-01")
    profile.name = "华北重工"
    remote = ipad.create_customer(profile)
    sync(ipad, kam.KamServer(URL, PHONE_TOKEN, FAST))
    sync(rep, server)
    until("the synced rows", lambda: any(r.id == remote.id for r in rows.emitted[-1]))
    watch.cancel()
    callback.cancel()
    say(f"watch: {first} rows, then the local edit, then {len(rows.emitted[-1])} after a sync brought the iPad's customer")

    intruder = kam.KamReplica.open(os.path.join(WORKDIR, "rep-reinstalled.kam"), "rep-01")
    refused = expect_error(KamError.DeviceInUse, lambda: asyncio.run(intruder.sync_now(server)))
    say(f"second installation on one token: DeviceInUse: {refused.detail}")
    return {"sdk_customer": local.id}


def sealed_day():
    """Encryption at rest: no readable customer name on disk, wrong keys refused, rotation."""
    key = bytes((i * 7 + 1) % 256 for i in range(32))  # stands for a key kept in the Keychain
    path = os.path.join(WORKDIR, "sealed.kam")
    name = "西北绝密重工集团"
    sealed = kam.KamReplica.open(path, "rep-01", key)
    profile = kam.CustomerProfile(name=name, industry="机械", region="西北", address="兰州市",
                                  leading_brand=False, notes="")
    customer = sealed.create_customer(profile)
    assert [r.name for r in sealed.my_customers_by_tier("rep-01")] == [name]

    def on_disk():
        needle = name.encode("utf-8")
        return [f for f in os.listdir(WORKDIR) if f.startswith("sealed.kam")
                and needle in open(os.path.join(WORKDIR, f), "rb").read()]

    assert on_disk() == [], on_disk()
    del sealed  # the last handle: the file is closed
    gc.collect()
    expect_error(KamError.WrongKey, lambda: kam.KamReplica.open(path, "rep-01", bytes(32)))
    expect_error(KamError.WrongKey, lambda: kam.KamReplica.open(path, "rep-01", None))
    bad = expect_error(KamError.InvalidField, lambda: kam.KamReplica.open(path, "rep-01", b"short"))
    assert bad.field == "encryption_key", bad
    sealed = kam.KamReplica.open(path, "rep-01", key)
    assert sealed.customer(customer.id).profile.name == name
    rotated = bytes((i * 11 + 3) % 256 for i in range(32))
    sealed.rekey(rotated)
    assert len(sealed.my_customers_by_tier("rep-01")) == 1
    del sealed
    gc.collect()
    expect_error(KamError.WrongKey, lambda: kam.KamReplica.open(path, "rep-01", key))
    kam.KamReplica.open(path, "rep-01", rotated)
    assert on_disk() == [], on_disk()
    say("encrypted replica: no readable customer name on disk; wrong and missing keys refused; key rotated")
    return {}


def desk_day():
    """Holds queued offline are pending; sent, one is held and one refused with its reason."""
    tablet = kam.KamReplica.open(os.path.join(WORKDIR, "staff.kam"), "staff-01")
    server = kam.KamServer(URL, "kam_demo_staff-01", FAST)
    sync(tablet, server)
    event = tablet.event(EVENT)
    first, second = event.buyers[0], event.buyers[1]
    assert first.lottery_no == 1 and second.lottery_no == 2, event.buyers[:2]
    unit = next(r for r in tablet.control_table(EVENT) if r.synced == kam.UnitStatus.AVAILABLE)

    # Offline: call number 1, hold the unit for them, and (a mistake) for number 2 as well.
    call = tablet.queue_desk_command(EVENT, kam.DeskCommand.CALL_NEXT(event.now_serving or 0))
    hold = tablet.queue_desk_command(EVENT, kam.DeskCommand.HOLD(unit.unit_id, first.id))
    again = tablet.queue_desk_command(EVENT, kam.DeskCommand.HOLD(unit.unit_id, second.id))
    expect_error(
        KamError.Rejected,
        lambda: tablet.queue_desk_command(
            EVENT, kam.DeskCommand.CHECK_IDENTITY(first.id, "11010519491231002X")
        ),
    )
    offline = kam.KamServer(OFFLINE_URL, "kam_demo_staff-01", kam.SyncSettings(max_attempts=1))
    expect_error(KamError.Network, lambda: asyncio.run(tablet.send_desk_commands(offline)))
    row = next(r for r in tablet.control_table(EVENT) if r.unit_id == unit.unit_id)
    assert row.shown.is_HOLD_PENDING() and row.synced == kam.UnitStatus.AVAILABLE, row
    pending = tablet.outbox(kam.OutboxStatus.PENDING)
    assert [e.key for e in pending] == [call.key, hold.key, again.key]
    assert pending[1].command == kam.DeskCommand.HOLD(unit.unit_id, first.id)
    # Sending stops at the first lost request; that attempt is recorded, under its key.
    assert [e.attempts for e in pending] == [1, 0, 0], pending
    say(f"offline: unit {unit.code} shown {row.shown}, {len(pending)} commands pending")

    # Back online.
    started = time.monotonic()
    sent = asyncio.run(tablet.send_desk_commands(server))
    ms = (time.monotonic() - started) * 1000
    assert (sent.accepted, sent.rejected, sent.still_pending) == (2, 1, 0), sent
    held = tablet.outbox_entry(hold.key)
    assert held.status == kam.OutboxStatus.ACCEPTED and "hold_id" in held.result_json, held
    refused = tablet.desk_rejections()
    assert [e.key for e in refused] == [again.key], refused
    refusal = refused[0].refusal
    assert refusal.code and refusal.message
    say(f"sent in {ms:.0f} ms: 2 accepted, 1 refused `{refusal.code}`: {refusal.message}")

    # The accepted hold shows at once, from its answer, before any sync.
    row = next(r for r in tablet.control_table(EVENT) if r.unit_id == unit.unit_id)
    assert row.shown.is_HELD_HERE() and row.hold_id and row.hold_expires_at, row
    assert row.synced == kam.UnitStatus.AVAILABLE, row
    assert row.refusal and row.refusal.code == refusal.code, row
    shown_at_once = (row.shown, row.hold_id, row.hold_expires_at)
    say(f"before any sync: unit {unit.code} shown {row.shown}, hold until {row.hold_expires_at}")

    # The desk mirrors the hold into the project document; a sync brings it (bounded poll),
    # and its arrival changes nothing visible.
    deadline, polls = time.monotonic() + 30, 0
    while True:
        polls += 1
        sync(tablet, server)
        row = next(r for r in tablet.control_table(EVENT) if r.unit_id == unit.unit_id)
        if row.synced == kam.UnitStatus.HELD:
            break
        assert time.monotonic() < deadline, f"the hold never reached the tablet: {row}"
        time.sleep(0.02)
    assert (row.shown, row.hold_id, row.hold_expires_at) == shown_at_once, (shown_at_once, row)
    assert len(tablet.desk_rejections()) == 1, "kept until a person dismisses it"
    tablet.dismiss_desk_answer(again.key)
    assert tablet.desk_rejections() == []
    say(f"the mirror arrived after {polls} sync(s) and changed nothing shown; refusal dismissed")

    # The identity check goes online only: a buyer added to the list, then checked at the desk.
    id_number = "11010519491231002X"
    added = asyncio.run(server.send_desk_command_online(
        EVENT, kam.DeskCommand.IMPORT_BUYERS(f"姓名,身份证号\n王五,{id_number}\n")))
    assert added.accepted, added
    buyer = json.loads(added.result_json)["added"][0]
    checked = asyncio.run(server.send_desk_command_online(
        EVENT, kam.DeskCommand.CHECK_IDENTITY(buyer, id_number)))
    wrong = asyncio.run(server.send_desk_command_online(
        EVENT, kam.DeskCommand.CHECK_IDENTITY(buyer, "110105194912310038")))
    assert checked.accepted and json.loads(checked.result_json)["matches"] is True, checked
    assert not wrong.accepted and wrong.refusal.code == "identity_mismatch", wrong
    say("identity check online: match accepted, wrong card refused `identity_mismatch`")
    return {"unit": unit.unit_id, "buyer": first.id, "refused_code": refusal.code}


def accounts_day():
    """Account management offline: a lead from identification to won, a survey, my pipeline."""
    rep = kam.KamReplica.open(os.path.join(WORKDIR, "accounts.kam"), "rep-01")
    customer = rep.create_customer(
        kam.CustomerProfile(
            name="西南重工", industry="机械", region="西南", address="", leading_brand=False, notes=""
        )
    )
    none_holds = kam.LeadCriteria(
        expected_annual_purchase=decimal.Decimal("1000000"), profit_share_pct=None, potential=""
    )
    refused = expect_error(
        KamError.Rejected,
        lambda: rep.identify_lead(customer.id, "扩产", none_holds, decimal.Decimal("1")),
    )
    assert refused.code == "rule", refused
    criteria = kam.LeadCriteria(
        expected_annual_purchase=decimal.Decimal("2000000"), profit_share_pct=None, potential=""
    )
    value = decimal.Decimal("3500000.00")
    lead = rep.identify_lead(customer.id, "二期扩产", criteria, value)
    assert lead.stage == kam.LeadStage.MARKET_RESEARCH and lead.owner == "rep-01", lead
    expect_error(
        KamError.Rejected,
        lambda: rep.change_lead_stage(lead.id, kam.LeadStage.WON, "", None),
    )
    for stage in [kam.LeadStage.FIRST_CONTACT, kam.LeadStage.NEGOTIATION, kam.LeadStage.WON]:
        lead = rep.change_lead_stage(lead.id, stage, "采购经理关注交期", None)
    assert lead.stage == kam.LeadStage.WON and len(lead.history) == 3, lead
    survey = rep.take_survey(
        kam.NewSurvey(
            customer_id=customer.id,
            kind=kam.SurveyKind.PERIODIC,
            ticket_id=None,
            respondent="李经理",
            items=[
                kam.ItemScore(item=kam.SurveyItem.PRODUCT, score=84),
                kam.ItemScore(item=kam.SurveyItem.SERVICE, score=85),
            ],
            comments="",
        )
    )
    factor = rep.satisfaction_factor(customer.id)
    assert factor.score == 85 and factor.surveys_counted == 1, factor
    pipeline = rep.my_pipeline_by_stage("rep-01")
    won = [s for s in pipeline if s.stage == kam.LeadStage.WON][0]
    assert len(pipeline) == 7 and won.count == 1 and won.expected_value == value, pipeline
    assert won.leads[0].id == lead.id and won.leads[0].customer_name == "西南重工"
    say(f"accounts offline: lead {lead.id} won, survey {survey.id} scored {factor.score}")
    return {"lead": lead.id, "survey": survey.id}


def main():
    started = time.monotonic()
    result = rep_day()
    result.update(sdk_day())
    result.update(sealed_day())
    result.update(desk_day())
    result.update(accounts_day())
    say(f"scenario passed in {(time.monotonic() - started) * 1000:.0f} ms")
    print("RESULT " + " ".join(f"{k}={v}" for k, v in result.items()), flush=True)


if __name__ == "__main__":
    status = 0
    try:
        main()
    except Exception:
        import traceback

        traceback.print_exc()
        status = 1
    # Leave without finalizing the interpreter. uniffi wakes an awaiting coroutine from the
    # Rust thread that finished the work, through `call_soon_threadsafe`, which lets go of the
    # GIL while it writes to the event loop's wake-up socket. The main thread can finish the
    # scenario in that gap; if the interpreter is being finalized when the Rust thread takes
    # the GIL back, CPython (3.13 and older) ends that thread with `pthread_exit`, whose forced
    # unwind cannot pass through Rust frames, and the process aborts ("FATAL: exception not
    # rethrown") after everything passed. An app's process does not finalize its interpreter
    # while it still talks to the core; a script that exits right after its last call does.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
