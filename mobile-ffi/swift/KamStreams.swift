// Swift AsyncStreams over kam-ffi's listeners: the list screens, the sync status and the
// push channel as streams that subscribe when made and cancel their TaskHandle when the
// consuming task ends. Shipped beside the generated KamFfi.swift by scripts/bindings.
// (No Swift toolchain on the build machine: this file is kept in step with KamFlows.kt, which
// the bindings test compiles and runs.)
//
//   for await rows in replica.myCustomersStream(owner: "rep-01") { render(rows) }

import Foundation

/// Forwards a watch's rows into a stream.
private final class RowsSink<Row>: @unchecked Sendable {
    let continuation: AsyncThrowingStream<[Row], Error>.Continuation
    init(_ continuation: AsyncThrowingStream<[Row], Error>.Continuation) {
        self.continuation = continuation
    }
    func rows(_ rows: [Row]) { continuation.yield(rows) }
    func error(_ error: KamError) { continuation.finish(throwing: error) }
}

private func rowsStream<Row>(
    _ watch: @escaping (RowsSink<Row>) -> TaskHandle
) -> AsyncThrowingStream<[Row], Error> {
    AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
        let handle = watch(RowsSink(continuation))
        continuation.onTermination = { _ in handle.cancel() }
    }
}

private final class CustomerRows: CustomerRowsListener, @unchecked Sendable {
    let sink: RowsSink<CustomerRow>
    init(_ sink: RowsSink<CustomerRow>) { self.sink = sink }
    func onRows(rows: [CustomerRow]) { sink.rows(rows) }
    func onError(error: KamError) { sink.error(error) }
}

private final class VisitRows: VisitRowsListener, @unchecked Sendable {
    let sink: RowsSink<VisitDueRow>
    init(_ sink: RowsSink<VisitDueRow>) { self.sink = sink }
    func onRows(rows: [VisitDueRow]) { sink.rows(rows) }
    func onError(error: KamError) { sink.error(error) }
}

private final class TicketRows: TicketRowsListener, @unchecked Sendable {
    let sink: RowsSink<TicketRow>
    init(_ sink: RowsSink<TicketRow>) { self.sink = sink }
    func onRows(rows: [TicketRow]) { sink.rows(rows) }
    func onError(error: KamError) { sink.error(error) }
}

private final class TableRows: ControlTableListener, @unchecked Sendable {
    let sink: RowsSink<UnitOnTable>
    init(_ sink: RowsSink<UnitOnTable>) { self.sink = sink }
    func onRows(rows: [UnitOnTable]) { sink.rows(rows) }
    func onError(error: KamError) { sink.error(error) }
}

private final class StatusSink: SyncStatusListener, @unchecked Sendable {
    let continuation: AsyncStream<SyncStatus>.Continuation
    init(_ continuation: AsyncStream<SyncStatus>.Continuation) { self.continuation = continuation }
    func onStatus(status: SyncStatus) { continuation.yield(status) }
}

public extension KamReplica {
    /// `myCustomersByTier(owner:)`, again whenever its rows change.
    func myCustomersStream(owner: String) -> AsyncThrowingStream<[CustomerRow], Error> {
        rowsStream { self.watchMyCustomers(owner: owner, listener: CustomerRows($0)) }
    }

    /// `searchCustomers(text:limit:)`, again whenever its rows change.
    func searchCustomersStream(text: String, limit: UInt32) -> AsyncThrowingStream<[CustomerRow], Error> {
        rowsStream { self.watchSearchCustomers(text: text, limit: limit, listener: CustomerRows($0)) }
    }

    /// `visitsDue(owner:)`, again whenever its rows change.
    func visitsDueStream(owner: String) -> AsyncThrowingStream<[VisitDueRow], Error> {
        rowsStream { self.watchVisitsDue(owner: owner, listener: VisitRows($0)) }
    }

    /// `openTicketsByUrgency(owner:)`, again whenever its rows change.
    func openTicketsStream(owner: String?) -> AsyncThrowingStream<[TicketRow], Error> {
        rowsStream { self.watchOpenTickets(owner: owner, listener: TicketRows($0)) }
    }

    /// `controlTable(eventId:)`, again whenever a row changes.
    func controlTableStream(eventId: String) -> AsyncThrowingStream<[UnitOnTable], Error> {
        rowsStream { self.watchControlTable(eventId: eventId, listener: TableRows($0)) }
    }

    /// The sync status: now, then every change.
    func syncStatusStream() -> AsyncStream<SyncStatus> {
        AsyncStream { continuation in
            let handle = self.watchSyncStatus(listener: StatusSink(continuation))
            continuation.onTermination = { _ in handle.cancel() }
        }
    }
}
