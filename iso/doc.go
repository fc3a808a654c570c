// Package iso is ledgersim's ISO 8583 edge: it owns the TCP listener, the
// length-prefixed framing, the message spec and the decoding and encoding of
// messages, and it answers by itself everything that needs no business
// decision. Everything else is handed to a Handler as a plain Request struct;
// nothing outside this package sees *iso8583.Message.
//
// # What the package answers by itself
//
// The wire contract is the project's ISO 8583 profile (docs/iso8583-wire.md).
// The package decodes each request once and then:
//
//   - answers 0800 network management (DE 70 001 sign-on, 002 sign-off,
//     301 echo) with an 0810 and DE 39 "00", and other DE 70 values with "12";
//   - answers an MTI the profile does not support with DE 39 "12";
//   - answers a request with a missing or malformed field with DE 39 "30",
//     echoing whatever parsed;
//   - closes the connection, counts the error and logs it when a frame cannot
//     be framed (zero or oversized length, a non-digit ASCII4 header, a
//     Binary2TPDU length shorter than its TPDU) or its first four bytes are
//     not an MTI that can be answered.
//
// # Framing
//
// Every message is preceded by its length: 2 bytes big-endian (Binary2, the
// default), 4 ASCII digits (ASCII4) or 4 bytes big-endian (Binary4).
// Binary2TPDU puts a 5-byte TPDU between a 2-byte length and the message,
// the length covering both; the reply to each request carries that
// request's TPDU with destination and source swapped. The TPDU is kept per
// frame in the batch, and written with the reply's length header, so it
// costs the pipeline below no allocation.
//
// Only well-formed 0100, 0101, 0120, 0200, 0220, 0400, 0401, 0420 and 0421
// requests reach the Handler, a read's worth at a time (HandleBatch); a
// handler that decides one request at a time is adapted with PerRequest.
//
// # The spec
//
// Spec is moov-io's specs.Spec87ASCII plus DE 70 and DE 95, with one change:
// Spec87ASCII declares a single 128-bit bitmap that is always sent as 32 hex
// characters and never sets bit 1, while the profile (like most ISO 8583
// ASCII hosts) sends a 16-character primary bitmap and adds a 16-character
// secondary bitmap, announced by bit 1, only when a field above 64 is present.
// Spec therefore uses 8-byte bitmap blocks. A client that loads SpecJSON with
// moov-io's specs.ImportJSON gets exactly this layout.
//
// # Usage
//
//	srv, err := iso.NewServer(iso.Config{Addr: ":8583"}, handler) // or iso.PerRequest(h)
//	if err != nil {
//		return err
//	}
//	go func() {
//		if err := srv.ListenAndServe(); !errors.Is(err, iso.ErrServerClosed) {
//			log.Fatal(err)
//		}
//	}()
//	// ...
//	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
//	defer cancel()
//	err = srv.Shutdown(ctx) // answers every request already read, then closes
//
// A client (a test, a load generator) uses the same codec: PackRequest and
// WriteFrame to send, a FrameReader and UnpackResponse to receive.
//
// # Codecs
//
// moov-io/iso8583 costs microseconds and well over a hundred allocations
// per request and reply, more than the whole per-request budget of the
// server. By default (Config.Codec CodecFast) the server therefore decodes
// with a table compiled at start-up from the same *iso8583.MessageSpec that
// Spec returns (each field's type, length, length prefix, encoding and
// padding) and writes replies directly into a reused buffer, without
// allocating. A message carrying a field the table cannot read, and a
// reply the encoder cannot be sure to write exactly as moov-io would, go
// through moov-io instead. Config.Codec CodecMoov uses moov-io throughout;
// it is the reference the fast codec is tested and fuzzed against (same
// decoded request, same validation outcome, same reply bytes).
//
// # Concurrency
//
// A connection has two goroutines, and what passes between them is a
// batch per read, not a message:
//
//   - the reader reads, takes every complete frame that read delivered,
//     decodes them, answers by itself what needs no decision, and hands
//     the rest to the Handler in one HandleBatch call; it then encodes every
//     reply of the batch, each behind its length header, into one buffer
//     and queues the batch;
//   - the writer, started with the connection's first batch, takes every
//     batch queued, waits for each reply's Response.Durable (the
//     decision's disk sync) in request order, and writes all their replies
//     in one system call (writev when several batches are ready).
//
// Clients may pipeline: while the writer waits for a sync, the reader
// goes on reading and deciding, so one sync releases every reply it
// covers and the next covers everything that arrived meanwhile. No reply
// is written before its decision is durable, and a reply whose decision
// could not be made durable becomes a "96". The profile lets replies come
// back in any order (clients match them by DE 11 and DE 37); this server
// writes them in request order, because decisions on a connection become
// durable in that order. MaxInFlightPerConn bounds the requests of one
// connection between read and written reply; at the bound the reader stops
// reading until replies are written. There is no goroutine, channel
// operation, timer or deadline per message: a read deadline is set per
// read (the idle timeout between frames, or the frame's own deadline,
// FrameTimeout after its first byte, while one is under way) and a write
// deadline per write. The read buffer starts at 2 KiB and doubles, up to
// 64 KiB, while reads keep filling it; a batch's buffers grow to the
// largest read the connection has seen and are reused, so an idle
// connection holds a few kilobytes.
//
// The Handler is called concurrently from many connections, and for one
// connection one batch at a time, on its reader: a Handler that blocks
// holds up that connection (and only that one), which is why durability
// is waited for through Response.Durable rather than inside HandleBatch. A
// Request belongs to the call that receives it: the struct itself and the
// buffer its Raw field aliases are reused once HandleBatch returns. Its
// string fields are the Handler's to keep; they never change. Observer
// methods are called from both goroutines of every connection and must be
// cheap and safe for concurrent use.
//
// # Faults on purpose
//
// A Handler may set Response.Fault to make a reply misbehave on the wire
// (package faults holds the rules that decide it): FaultDelay sends it
// Fault.Delay after its request arrived, FaultNoReply sends nothing,
// FaultDuplicate sends it twice, and FaultClose closes the connection
// once the replies before it are written. The decision is waited for
// (Response.Durable) as usual first. A batch without faults is written as
// above; one with faults is written reply by reply, and while the writer
// waits for a delayed reply the reader goes on reading and deciding. Since
// replies keep their order, those behind a delayed reply leave with it.
//
// # Bounds
//
// MaxConns connections may be open at once; one more is accepted and
// closed at once. A connection is closed when nothing arrives for
// ReadIdleTimeout, when a frame is not complete FrameTimeout after its
// first byte, when its replies cannot be written within WriteTimeout, and
// on a frame it cannot frame. Each of these closes (Observer.FrameError,
// CloseReasons) and refusals (Observer.ConnRefused) is counted every
// time and logged at most once per reason per CloseLogInterval.
//
// Server methods are safe for concurrent use. Shutdown stops accepting,
// stops reading new frames, waits until every request already read has been
// decided and its reply written, and then closes the connections, unless its
// context ends first.
//
// # Sensitive data
//
// Logs, errors and metric labels never carry a PAN, a CVV2 or message bytes:
// errors from this package name a field number and a rule (FieldError), and
// errors from moov-io, which may quote input, are never passed on.
package iso
