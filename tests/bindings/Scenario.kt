// A rep's and an event tablet's day through the generated Kotlin bindings of kam-ffi, on the
// JVM with JNA, as an Android app calls them.
//
// Run by tests/tests/bindings.rs against the real kam-server on 127.0.0.1:
//   java -Djna.library.path=<dir of libkam_ffi.so> -cp scenario.jar:jna.jar ScenarioKt
// with KAM_URL (server base URL), KAM_EVENT (the demo event id) and KAM_WORKDIR (a directory
// for the replica files) in the environment. Every step checks; the last line is
// `RESULT key=value ...` for the Rust test to check against the server.

import app.kam.ffi.ChangeListener
import app.kam.ffi.ChangeOrigin
import app.kam.ffi.ChangeSet
import app.kam.ffi.CustomerProfile
import app.kam.ffi.DeskCommand
import app.kam.ffi.KamException
import app.kam.ffi.KamReplica
import app.kam.ffi.KamServer
import app.kam.ffi.NewTicket
import app.kam.ffi.OutboxStatus
import app.kam.ffi.SyncProgress
import app.kam.ffi.SyncProgressListener
import app.kam.ffi.SyncSettings
import app.kam.ffi.TableStatus
import app.kam.ffi.TicketKind
import app.kam.ffi.TicketPriority
import app.kam.ffi.TicketStatus
import app.kam.ffi.Tier
import app.kam.ffi.UnitStatus
import app.kam.ffi.VisitLevel
import app.kam.ffi.VisitRecord
import app.kam.ffi.newId
import app.kam.ffi.tierForAnnualSales
import java.math.BigDecimal
import java.time.Instant
import java.time.LocalDate
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.system.exitProcess
import app.kam.ffi.CustomerRow
import app.kam.ffi.ItemScore
import app.kam.ffi.LeadCriteria
import app.kam.ffi.LeadStage
import app.kam.ffi.NewSurvey
import app.kam.ffi.SurveyItem
import app.kam.ffi.SurveyKind
import app.kam.ffi.SyncStatus
import app.kam.ffi.myCustomersFlow
import app.kam.ffi.syncStatusFlow
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import kotlin.concurrent.thread
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

val URL: String = System.getenv("KAM_URL")
val EVENT: String = System.getenv("KAM_EVENT")
val WORKDIR: String = System.getenv("KAM_WORKDIR")
val FAST = SyncSettings(maxAttempts = 3u, initialBackoffMs = 10u, maxBackoffMs = 100u)
const val OFFLINE_URL = "http://127.0.0.1:9" // nothing listens there: the Wi-Fi is down
// A second device enrolled for rep-02 (the phone), by the Rust test.
val PHONE_TOKEN: String = System.getenv("KAM_PHONE_TOKEN")

fun say(message: String) = println("kotlin: $message")

fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

inline fun <reified E : KamException> expectError(call: () -> Unit): E {
    try {
        call()
    } catch (e: KamException) {
        if (e is E) return e
        throw AssertionError("expected ${E::class.simpleName}, got $e")
    }
    throw AssertionError("expected ${E::class.simpleName}, got no error")
}

class Changes : ChangeListener {
    val seen = CopyOnWriteArrayList<ChangeSet>()
    override fun onChange(changes: ChangeSet) {
        seen.add(changes)
    }
}

class Progress : SyncProgressListener {
    val rounds = CopyOnWriteArrayList<SyncProgress>()
    override fun onProgress(progress: SyncProgress) {
        rounds.add(progress)
    }
}

fun millisSince(started: Long) = (System.nanoTime() - started) / 1_000_000

fun repDay(): Map<String, String> {
    val rep = KamReplica.open("$WORKDIR/rep.kam", "rep-02")
    val server = KamServer(URL, "kam_demo_rep-02", FAST)
    val changes = Changes()
    val progress = Progress()
    val changeHandle = rep.addChangeListener(changes)
    val progressHandle = rep.addSyncProgressListener(progress)

    // Offline.
    val customer = rep.createCustomer(
        CustomerProfile("西南建材集团", "建材", "西南", "成都市高新区", false, ""),
    )
    val visit = VisitRecord(
        newId(), VisitLevel.TECHNICAL, LocalDate.now(), "rep-02",
        listOf("新产线验收"), "", "振动偏大", "", "",
    )
    rep.upsertVisit(customer.id, visit)
    val sales = BigDecimal("88000000.25")
    rep.setAnnualSales(customer.id, 2025, sales)
    val ticket = rep.openTicket(
        NewTicket(customer.id, TicketKind.QUALITY, TicketPriority.URGENT, "振动超标", "验收时振动超标", null),
    )
    // Listeners hear on the replica's notice thread, soon after each edit.
    until("four change notices") { changes.seen.size == 4 }
    check(changes.seen.map { it.origin } == List(4) { ChangeOrigin.LOCAL }) { "${changes.seen}" }
    check(changes.seen.map { it.documents.single().id } == List(3) { customer.id } + ticket.id) { "${changes.seen}" }
    val read = rep.customer(customer.id)
    check(read.visits == listOf(visit)) { "${read.visits}" }
    check(read.annualSales[0].amount.compareTo(sales) == 0) { "${read.annualSales}" }
    check(read.createdAt.isBefore(Instant.now().plusSeconds(1))) { "${read.createdAt}" }
    check(tierForAnnualSales(sales, true, false) == Tier.KEY) { "tier" }
    say("offline: customer ${customer.id}, visit ${visit.id}, ticket ${ticket.id}")

    // The error cases an app acts on.
    expectError<KamException.NotFound> { rep.customer("no-such-customer") }
    val refused = expectError<KamException.Rejected> {
        rep.changeTicketStatus(ticket.id, TicketStatus.CLOSED, "done")
    }
    expectError<KamException.Unauthorized> {
        runBlocking { rep.syncNow(KamServer(URL, "kam_demo_nobody", FAST)) }
    }
    expectError<KamException.Network> {
        runBlocking { rep.syncNow(KamServer(OFFLINE_URL, "kam_demo_rep-02", SyncSettings(maxAttempts = 1u))) }
    }
    say("errors: not found, unauthorized, network, rejected `${refused.code}`: ${refused.reason}")

    // Online.
    var started = System.nanoTime()
    val report = runBlocking { rep.syncNow(server) }
    check(report.quiet && report.snapshotsReceived > 0uL) { "$report" }
    until("a progress notice per round") { progress.rounds.size == report.rounds.toInt() }
    until("the sync's change notices") { changes.seen.last().origin == ChangeOrigin.SYNC }
    say(
        "first sync: ${report.rounds} rounds, ${report.snapshotsReceived} documents, " +
            "${report.bytesReceived} bytes in ${millisSince(started)} ms",
    )
    rep.changeTicketStatus(ticket.id, TicketStatus.IN_PROGRESS, "质量工程师已接手")
    runBlocking { rep.syncNow(server) }
    // Notices are delivered in order: once a fence listener hears an edit made after the
    // sync, everything before it has been delivered.
    fun fence(note: String) {
        val heard = Changes()
        val handle = rep.addChangeListener(heard)
        rep.addTicketReply(ticket.id, note)
        until("the fence to hear its edit") { heard.seen.isNotEmpty() }
        handle.cancel()
    }
    // Closing (or losing) a handle does not end its subscription; cancelling does.
    fence("备件已发出")
    progressHandle.close()
    val rounds = progress.rounds.size
    runBlocking { rep.syncNow(server) }
    until("the closed handle's listener to hear the sync") { progress.rounds.size > rounds }
    changeHandle.cancel()
    fence("工程师已到场")
    val heard = changes.seen.size
    rep.setAnnualSales(customer.id, 2024, sales)
    runBlocking { rep.syncNow(server) }
    fence("已复测")
    check(changes.seen.size == heard) { "the cancelled change listener was called" }

    // The rep's phone, enrolled as a device of its own, gets it all from the server.
    val other = KamReplica.open("$WORKDIR/rep-phone.kam", "rep-02")
    started = System.nanoTime()
    val second = runBlocking { other.syncNow(KamServer(URL, PHONE_TOKEN, FAST)) }
    check(other.customer(customer.id).visits == listOf(visit)) { "visit on the second tablet" }
    check(other.ticket(ticket.id).status == TicketStatus.IN_PROGRESS) { "ticket on the second tablet" }
    say("second tablet: ${second.snapshotsReceived} documents in ${millisSince(started)} ms, sees all")
    return mapOf("customer" to customer.id, "visit" to visit.id, "ticket" to ticket.id)
}

/** A server that accepts connections and never answers: the uplink is a black hole. */
class BlackHole : AutoCloseable {
    private val socket = ServerSocket(0, 50, InetAddress.getLoopbackAddress())
    private val held = CopyOnWriteArrayList<Socket>()
    val url = "http://127.0.0.1:${socket.localPort}"
    val accepted get() = held.size

    init {
        thread(isDaemon = true) {
            while (!socket.isClosed) {
                try {
                    held.add(socket.accept())
                } catch (e: java.io.IOException) {
                    break
                }
            }
        }
    }

    override fun close() {
        socket.close()
        held.forEach { it.close() }
    }
}

/** Polls `done` until it holds, failing after `limitMs`: a bound, not a timing. */
fun until(what: String, limitMs: Long = 30_000, done: () -> Boolean) {
    val started = System.nanoTime()
    while (!done()) {
        check(millisSince(started) < limitMs) { "timed out waiting for $what" }
        Thread.sleep(5)
    }
}

/** The SDK's promises: readers never wait on the network, cancelling frees the replica, watch
 *  queries and the status stream follow, listeners may call back in, the foreground loop syncs
 *  by itself, and one token is one installation. */
fun sdkDay(): Map<String, String> = runBlocking {
    val rep = KamReplica.open("$WORKDIR/rep.kam", "rep-02")
    val server = KamServer(URL, "kam_demo_rep-02", FAST)
    check(KamReplica.open("$WORKDIR/rep.kam", "rep-02").myCustomersByTier("rep-02").size ==
        rep.myCustomersByTier("rep-02").size) { "the same file opens as the same replica" }

    // 1. A list query while a sync waits on an unreachable server.
    BlackHole().use { hole ->
        val sync = async(Dispatchers.IO) { rep.syncNow(KamServer(hole.url, "kam_demo_rep-02", FAST)) }
        until("the sync's request to reach the black hole") { hole.accepted > 0 }
        var started = System.nanoTime()
        val rows = rep.myCustomersByTier("rep-02")
        val queryMs = (System.nanoTime() - started) / 1e6
        check(rows.isNotEmpty() && sync.isActive) { "the query answered while the sync is under way" }
        say("list query during a sync to an unreachable server: ${"%.2f".format(queryMs)} ms (goal < 50 ms), ${rows.size} rows")

        // 2. Cancelling the coroutine cancels the sync and frees the replica.
        started = System.nanoTime()
        sync.cancelAndJoin()
        rep.setAnnualSales(rows.first().id, 2023, BigDecimal("1.00"))
        val freedMs = (System.nanoTime() - started) / 1e6
        check(sync.isCancelled) { "cancelled" }
        say("sync cancelled: replica free for an edit in ${"%.2f".format(freedMs)} ms (goal ≤ 100 ms)")
    }

    // 3. The status stream: offline, then syncing, then idle.
    val statuses = CopyOnWriteArrayList<SyncStatus>()
    val statusJob = launch(Dispatchers.IO) { rep.syncStatusFlow().collect { statuses.add(it) } }
    until("the first status") { statuses.isNotEmpty() }
    expectError<KamException.Network> {
        runBlocking { rep.syncNow(KamServer(OFFLINE_URL, "kam_demo_rep-02", SyncSettings(maxAttempts = 1u))) }
    }
    until("offline") { statuses.last() is SyncStatus.Offline }
    val pendingBefore = rep.pendingUploads()
    check(pendingBefore.documents >= 1uL) { "the edit waits to be sent: $pendingBefore" }
    rep.syncNow(server)
    until("idle") { (statuses.last() as? SyncStatus.Idle)?.lastSyncedAt != null }
    val offlineAt = statuses.indexOfFirst { it is SyncStatus.Offline }
    val syncing = statuses.withIndex().filter { it.value == SyncStatus.Connecting || it.value is SyncStatus.Uploading }
    check(offlineAt >= 0 && syncing.any { it.index in (offlineAt + 1) until statuses.lastIndex }) {
        "offline → syncing → idle: $statuses"
    }
    check(rep.pendingUploads().documents == 0uL) { "all sent: ${rep.pendingUploads()}" }
    statusJob.cancelAndJoin()
    say("status stream: " + statuses.joinToString(" → ") { it::class.simpleName ?: "?" } +
        "; pending uploads ${pendingBefore.documents} → 0")

    // 4. A watch query emits after a local edit and after a sync brings a remote edit; a
    // listener calling back into the replica does not hang.
    val emitted = Channel<List<CustomerRow>>(Channel.UNLIMITED)
    val watchJob = launch(Dispatchers.IO) { rep.myCustomersFlow("rep-02").collect { emitted.send(it) } }
    val initial = withTimeout(30_000) { emitted.receive() }
    val callback = rep.addChangeListener(object : ChangeListener {
        override fun onChange(changes: ChangeSet) {
            // Reads and edits from inside a listener: the notice thread holds nothing.
            rep.myCustomersByTier("rep-02")
            rep.pendingUploads()
        }
    })
    val local = rep.createCustomer(CustomerProfile("华中电气", "电气", "华中", "武汉市", false, ""))
    var rows = withTimeout(30_000) { emitted.receive() }
    check(rows.size == initial.size + 1 && rows.any { it.id == local.id }) { "local edit: $rows" }
    val phone = KamReplica.open("$WORKDIR/rep-phone.kam", "rep-02")
    val remote = phone.createCustomer(CustomerProfile("华北重工", "机械", "华北", "天津市", false, ""))
    phone.syncNow(KamServer(URL, PHONE_TOKEN, FAST))
    rep.syncNow(server)
    rows = withTimeout(30_000) { emitted.receive() }
    while (rows.none { it.id == remote.id }) rows = withTimeout(30_000) { emitted.receive() }
    callback.cancel()
    say("watch: ${initial.size} rows, ${initial.size + 1} after a local edit, ${rows.size} after a sync brought the phone's customer")

    // 5. The foreground loop: edits go up and news comes down without calling syncNow.
    val before = (rep.syncStatus() as SyncStatus.Idle).lastSyncedAt!!
    val loop = rep.startSync(server)
    until("the loop's first sync") { ((rep.syncStatus() as? SyncStatus.Idle)?.lastSyncedAt ?: before) > before }
    // Now the loop waits: only the push channel (or a minute) makes it sync again.
    val pushed = phone.createCustomer(CustomerProfile("华东化工", "化工", "华东", "南京市", false, ""))
    var started = System.nanoTime()
    phone.syncNow(KamServer(URL, PHONE_TOKEN, FAST))
    rows = withTimeout(30_000) { emitted.receive() }
    while (rows.none { it.id == pushed.id }) rows = withTimeout(30_000) { emitted.receive() }
    val pushedMs = millisSince(started)
    val mine = rep.createCustomer(CustomerProfile("东北电力", "电力", "东北", "沈阳市", false, ""))
    started = System.nanoTime()
    until("the foreground loop to upload the edit") { rep.pendingUploads().documents == 0uL }
    val uploadedMs = millisSince(started)
    loop.cancel()
    check(loop.isFinished()) { "stopped" }
    watchJob.cancelAndJoin()
    say("foreground sync: the phone's customer shown in $pushedMs ms (push), this tablet's edit uploaded in $uploadedMs ms")

    // 6. One token, one installation: a second replica on the rep's token is refused.
    val intruder = KamReplica.open("$WORKDIR/rep-reinstalled.kam", "rep-02")
    val refused = expectError<KamException.DeviceInUse> { runBlocking { intruder.syncNow(server) } }
    say("second installation on one token: DeviceInUse: ${refused.detail}")
    mapOf("sdk_customer" to mine.id)
}

/** Encryption at rest: the file holds no readable customer name, a wrong key is refused, and
 *  a rotated key replaces the old one. */
fun sealedDay(): Map<String, String> {
    val key = ByteArray(32) { (it * 7 + 1).toByte() } // stands for a key kept in the Keystore
    val path = "$WORKDIR/sealed.kam"
    val name = "西北绝密重工集团"
    var sealed = KamReplica.open(path, "rep-02", key)
    val customer = sealed.createCustomer(CustomerProfile(name, "机械", "西北", "兰州市", false, ""))
    check(sealed.myCustomersByTier("rep-02").single().name == name) { "readable through the key" }
    val needle = name.toByteArray(Charsets.UTF_8)
    fun onDisk(): List<String> = java.io.File(WORKDIR).listFiles()!!
        .filter { it.name.startsWith("sealed.kam") && it.readBytes().containsBytes(needle) }
        .map { it.name }
    check(onDisk().isEmpty()) { "the name is readable in ${onDisk()}" }
    sealed.close() // the last handle: the file is closed
    expectError<KamException.WrongKey> { KamReplica.open(path, "rep-02", ByteArray(32)) }
    expectError<KamException.WrongKey> { KamReplica.open(path, "rep-02", null) }
    sealed = KamReplica.open(path, "rep-02", key)
    check(sealed.customer(customer.id).profile.name == name) { "reopened with its key" }
    val rotated = ByteArray(32) { (it * 11 + 3).toByte() }
    sealed.rekey(rotated)
    check(sealed.myCustomersByTier("rep-02").size == 1) { "readers follow the new key" }
    sealed.close()
    expectError<KamException.WrongKey> { KamReplica.open(path, "rep-02", key) }
    KamReplica.open(path, "rep-02", rotated).close()
    check(onDisk().isEmpty()) { "the name is readable in ${onDisk()} after the rotation" }
    say("encrypted replica: no readable customer name on disk; wrong and missing keys refused; key rotated")
    return mapOf()
}

fun ByteArray.containsBytes(needle: ByteArray): Boolean =
    (0..size - needle.size).any { start -> needle.indices.all { this[start + it] == needle[it] } }

fun deskDay(): Map<String, String> {
    val tablet = KamReplica.open("$WORKDIR/staff.kam", "staff-01")
    val server = KamServer(URL, "kam_demo_staff-01", FAST)
    runBlocking { tablet.syncNow(server) }
    val event = tablet.event(EVENT)
    val (first, second) = event.buyers
    check(first.lotteryNo == 1u && second.lotteryNo == 2u) { "${event.buyers.take(2)}" }
    val unit = tablet.controlTable(EVENT).first { it.synced == UnitStatus.AVAILABLE }

    // Offline: call number 1, hold the unit for them, and by mistake for number 2 too.
    val call = tablet.queueDeskCommand(EVENT, DeskCommand.CallNext(event.nowServing ?: 0u))
    val hold = tablet.queueDeskCommand(EVENT, DeskCommand.Hold(unit.unitId, first.id))
    val again = tablet.queueDeskCommand(EVENT, DeskCommand.Hold(unit.unitId, second.id))
    expectError<KamException.Network> {
        runBlocking { tablet.sendDeskCommands(KamServer(OFFLINE_URL, "kam_demo_staff-01", SyncSettings(maxAttempts = 1u))) }
    }
    var row = tablet.controlTable(EVENT).first { it.unitId == unit.unitId }
    check(row.shown == TableStatus.HoldPending && row.synced == UnitStatus.AVAILABLE) { "$row" }
    val pending = tablet.outbox(OutboxStatus.PENDING).map { it.key }
    check(pending == listOf(call.key, hold.key, again.key)) { "$pending" }
    say("offline: unit ${unit.code} shown ${row.shown::class.simpleName}, ${pending.size} commands pending")

    // Back online.
    var started = System.nanoTime()
    val sent = runBlocking { tablet.sendDeskCommands(server) }
    check(Triple(sent.accepted, sent.rejected, sent.stillPending) == Triple(2u, 1u, 0u)) { "$sent" }
    check(tablet.outboxEntry(hold.key).status == OutboxStatus.ACCEPTED) { "hold accepted" }
    val refusal = tablet.deskRejections().single().refusal!!
    check(tablet.deskRejections().single().key == again.key) { "the second hold was refused" }
    say("sent in ${millisSince(started)} ms: 2 accepted, 1 refused `${refusal.code}`: ${refusal.message}")

    // The accepted hold shows at once, from its answer, before any sync; the second hold's
    // refusal marks the row with its reason.
    row = tablet.controlTable(EVENT).first { it.unitId == unit.unitId }
    check(row.shown == TableStatus.HeldHere && row.holdId != null && row.holdExpiresAt != null) { "$row" }
    check(row.synced == UnitStatus.AVAILABLE) { "no sync yet: $row" }
    check(row.refusal?.code == refusal.code) { "the refusal on its row: $row" }
    val shownAtOnce = row
    say("before any sync: unit ${unit.code} shown ${row.shown::class.simpleName}, hold ${row.holdId} until ${row.holdExpiresAt}")

    // The desk mirrors the hold into the project document; syncs bring it (bounded poll), and
    // its arrival changes nothing visible.
    started = System.nanoTime()
    var polls = 0
    while (true) {
        polls++
        runBlocking { tablet.syncNow(server) }
        row = tablet.controlTable(EVENT).first { it.unitId == unit.unitId }
        if (row.synced == UnitStatus.HELD) break
        check(millisSince(started) < 30_000) { "the hold never reached the tablet: $row" }
        Thread.sleep(20)
    }
    check(listOf(row.shown, row.holdId, row.holdExpiresAt) ==
        listOf(shownAtOnce.shown, shownAtOnce.holdId, shownAtOnce.holdExpiresAt)) { "$shownAtOnce then $row" }
    tablet.dismissDeskAnswer(again.key)
    check(tablet.deskRejections().isEmpty()) { "dismissed" }
    say("the mirror arrived after $polls sync(s) and changed nothing shown; refusal dismissed")
    return mapOf("unit" to unit.unitId, "buyer" to first.id, "refused_code" to refusal.code)
}

fun accountsDay(): Map<String, String> {
    // Account management offline: a lead from identification to won, a survey, my pipeline.
    val rep = KamReplica.open("$WORKDIR/accounts.kam", "rep-02")
    val customer = rep.createCustomer(CustomerProfile("西北电力设备", "电力", "西北", "", false, ""))
    val noneHolds = LeadCriteria(BigDecimal("1000000"), null, "")
    val refused = expectError<KamException.Rejected> {
        rep.identifyLead(customer.id, "扩产", noneHolds, BigDecimal.ONE)
    }
    check(refused.code == "rule") { "$refused" }
    val value = BigDecimal("4200000.00")
    var lead = rep.identifyLead(customer.id, "新厂区", LeadCriteria(null, BigDecimal("12.5"), ""), value)
    check(lead.stage == LeadStage.MARKET_RESEARCH) { "$lead" }
    for (stage in listOf(LeadStage.NEEDS_ANALYSIS, LeadStage.NEGOTIATION, LeadStage.WON)) {
        lead = rep.changeLeadStage(lead.id, stage, "决策链清楚", null)
    }
    check(lead.stage == LeadStage.WON && lead.history.size == 3) { "$lead" }
    val survey = rep.takeSurvey(
        NewSurvey(customer.id, SurveyKind.PERIODIC, null, "赵总", listOf(ItemScore(SurveyItem.OVERALL, 92u)), ""),
    )
    val factor = rep.satisfactionFactor(customer.id)
    check(factor != null && factor.score.toInt() == 92) { "$factor" }
    val won = rep.myPipelineByStage("rep-02").single { it.stage == LeadStage.WON }
    check(won.count == 1u && won.expectedValue.compareTo(value) == 0 && won.leads[0].id == lead.id) { "$won" }
    say("accounts offline: lead ${lead.id} won, survey ${survey.id} scored ${factor?.score}")
    return mapOf("lead" to lead.id, "survey" to survey.id)
}

fun main() {
    try {
        val started = System.nanoTime()
        val result = repDay() + sdkDay() + sealedDay() + deskDay() + accountsDay()
        say("scenario passed in ${millisSince(started)} ms")
        println("RESULT " + result.entries.joinToString(" ") { "${it.key}=${it.value}" })
    } catch (e: Throwable) {
        e.printStackTrace()
        exitProcess(1)
    }
    // JNA's and the core's runtime threads must not keep the JVM alive.
    exitProcess(0)
}
