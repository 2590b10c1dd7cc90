// Kotlin Flows over kam-ffi's listeners: the list screens, the sync status and the push
// channel as cold flows that subscribe when collected and cancel their TaskHandle when the
// collector goes away (a screen's scope ends). Shipped beside the generated kam_ffi.kt by
// scripts/bindings; compiled and run by tests/bindings/Scenario.kt on the JVM.
//
//   replica.myCustomersFlow("rep-01").collect { rows -> adapter.submitList(rows) }
//   replica.syncStatusFlow().collect { status -> statusLine.render(status) }

package app.kam.ffi

import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow

/** A flow of rows from a watch: the latest rows win if the collector is slower. */
private fun <T> rowsFlow(watch: (RowsSink<T>) -> TaskHandle): Flow<List<T>> = callbackFlow {
    val handle = watch(RowsSink({ trySend(it) }, { close(it) }))
    awaitClose {
        handle.cancel()
        handle.close()
    }
}.buffer(Channel.CONFLATED)

/** What every rows listener does: hand the rows on, or end the flow with the error. */
private class RowsSink<T>(val rows: (List<T>) -> Unit, val error: (KamException) -> Unit)

/** `myCustomersByTier(owner)`, emitted again whenever its rows change. */
fun KamReplica.myCustomersFlow(owner: String): Flow<List<CustomerRow>> = rowsFlow { sink ->
    watchMyCustomers(owner, object : CustomerRowsListener {
        override fun onRows(rows: List<CustomerRow>) = sink.rows(rows)
        override fun onError(error: KamException) = sink.error(error)
    })
}

/** `searchCustomers(text, limit)`, emitted again whenever its rows change. */
fun KamReplica.searchCustomersFlow(text: String, limit: UInt): Flow<List<CustomerRow>> =
    rowsFlow { sink ->
        watchSearchCustomers(text, limit, object : CustomerRowsListener {
            override fun onRows(rows: List<CustomerRow>) = sink.rows(rows)
            override fun onError(error: KamException) = sink.error(error)
        })
    }

/** `visitsDue(owner)`, emitted again whenever its rows change. */
fun KamReplica.visitsDueFlow(owner: String): Flow<List<VisitDueRow>> = rowsFlow { sink ->
    watchVisitsDue(owner, object : VisitRowsListener {
        override fun onRows(rows: List<VisitDueRow>) = sink.rows(rows)
        override fun onError(error: KamException) = sink.error(error)
    })
}

/** `openTicketsByUrgency(owner)`, emitted again whenever its rows change. */
fun KamReplica.openTicketsFlow(owner: String?): Flow<List<TicketRow>> = rowsFlow { sink ->
    watchOpenTickets(owner, object : TicketRowsListener {
        override fun onRows(rows: List<TicketRow>) = sink.rows(rows)
        override fun onError(error: KamException) = sink.error(error)
    })
}

/** `controlTable(eventId)`, emitted again whenever a row changes. */
fun KamReplica.controlTableFlow(eventId: String): Flow<List<UnitOnTable>> = rowsFlow { sink ->
    watchControlTable(eventId, object : ControlTableListener {
        override fun onRows(rows: List<UnitOnTable>) = sink.rows(rows)
        override fun onError(error: KamException) = sink.error(error)
    })
}

/** The sync status: now, then every change, in order (a status line may conflate). */
fun KamReplica.syncStatusFlow(): Flow<SyncStatus> = callbackFlow {
    val handle = watchSyncStatus(object : SyncStatusListener {
        override fun onStatus(status: SyncStatus) {
            trySend(status)
        }
    })
    awaitClose {
        handle.cancel()
        handle.close()
    }
}.buffer(Channel.UNLIMITED)

/** One change notice pushed by the server. */
data class PushNotice(val cursor: ULong, val documents: List<String>)

/** The server's push channel, reconnecting by itself, while collected. */
fun KamServer.pushNoticesFlow(): Flow<PushNotice> = callbackFlow {
    val handle = watchPushNotices(object : PushNoticeListener {
        override fun onNotice(cursor: ULong, documents: List<String>) {
            trySend(PushNotice(cursor, documents))
        }
    })
    awaitClose {
        handle.cancel()
        handle.close()
    }
}.buffer(Channel.UNLIMITED)
