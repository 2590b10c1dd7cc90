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
import kotlinx.coroutines.runBlocking

val URL: String = System.getenv("KAM_URL")
val EVENT: String = System.getenv("KAM_EVENT")
val WORKDIR: String = System.getenv("KAM_WORKDIR")
val FAST = SyncSettings(maxAttempts = 3u, initialBackoffMs = 10u, maxBackoffMs = 100u)
const val OFFLINE_URL = "http://127.0.0.1:9" // nothing listens there: the Wi-Fi is down

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
    check(changes.seen.map { it.origin } == List(4) { ChangeOrigin.LOCAL }) { "${changes.seen}" }
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
    check(progress.rounds.size == report.rounds.toInt()) { "${progress.rounds} $report" }
    check(changes.seen.last().origin == ChangeOrigin.SYNC) { "${changes.seen}" }
    say(
        "first sync: ${report.rounds} rounds, ${report.snapshotsReceived} documents, " +
            "${report.bytesReceived} bytes in ${millisSince(started)} ms",
    )
    rep.changeTicketStatus(ticket.id, TicketStatus.IN_PROGRESS, "质量工程师已接手")
    runBlocking { rep.syncNow(server) }
    changeHandle.cancel()
    progressHandle.close() // closing a handle (or letting it go) cancels too
    val heard = changes.seen.size to progress.rounds.size
    runBlocking { rep.syncNow(server) }
    check(changes.seen.size to progress.rounds.size == heard) { "listeners were cancelled" }

    // The rep's second tablet gets it all from the server.
    val other = KamReplica.open("$WORKDIR/rep-phone.kam", "rep-02")
    started = System.nanoTime()
    val second = runBlocking { other.syncNow(KamServer(URL, "kam_demo_rep-02", FAST)) }
    check(other.customer(customer.id).visits == listOf(visit)) { "visit on the second tablet" }
    check(other.ticket(ticket.id).status == TicketStatus.IN_PROGRESS) { "ticket on the second tablet" }
    say("second tablet: ${second.snapshotsReceived} documents in ${millisSince(started)} ms, sees all")
    return mapOf("customer" to customer.id, "visit" to visit.id, "ticket" to ticket.id)
}

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

    // The desk mirrors the hold into the project document; syncs bring it (bounded poll).
    started = System.nanoTime()
    var polls = 0
    while (true) {
        polls++
        runBlocking { tablet.syncNow(server) }
        row = tablet.controlTable(EVENT).first { it.unitId == unit.unitId }
        if (row.shown == TableStatus.Synced(UnitStatus.HELD)) break
        check(millisSince(started) < 30_000) { "the hold never reached the tablet: $row" }
        Thread.sleep(20)
    }
    tablet.dismissDeskAnswer(again.key)
    check(tablet.deskRejections().isEmpty()) { "dismissed" }
    say("unit ${unit.code} shown held after $polls sync(s); refusal dismissed")
    return mapOf("unit" to unit.unitId, "buyer" to first.id, "refused_code" to refusal.code)
}

fun main() {
    try {
        val started = System.nanoTime()
        val result = repDay() + deskDay()
        say("scenario passed in ${millisSince(started)} ms")
        println("RESULT " + result.entries.joinToString(" ") { "${it.key}=${it.value}" })
    } catch (e: Throwable) {
        e.printStackTrace()
        exitProcess(1)
    }
    // JNA's and the core's runtime threads must not keep the JVM alive.
    exitProcess(0)
}
