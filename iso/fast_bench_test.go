package iso

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"
)

// Codec benchmarks: the same 0100 (sampleRequest, 190 bytes with every
// optional field) and its approval, through each codec.
//
//	go test -run '^$' -bench 'Codec|ServerRoundTrip' -benchmem ./iso/

func BenchmarkCodecDecode(b *testing.B) {
	frame := mustPack(b, sampleRequest())
	b.Run("codec=fast", func(b *testing.B) {
		c := defaultFastCodec()
		var d decoded
		b.ReportAllocs()
		for b.Loop() {
			c.decode(frame, &d)
		}
		if d.err != nil {
			b.Fatal(d.err)
		}
	})
	b.Run("codec=moov", func(b *testing.B) {
		var d decoded
		b.ReportAllocs()
		for b.Loop() {
			decodeRequest(Spec(), frame, &d)
		}
	})
}

func BenchmarkCodecReply(b *testing.B) {
	d := decode(mustPack(b, sampleRequest()))
	p := replyParts{mti: "0110", code: "00", resp: Response{Code: "00", AuthCode: "A12345"}}
	b.Run("codec=fast", func(b *testing.B) {
		c := defaultFastCodec()
		buf := make([]byte, 0, 256)
		b.ReportAllocs()
		for b.Loop() {
			var ok bool
			if buf, ok = c.appendReply(buf[:0], d, p); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("codec=moov", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := buildReply(Spec(), d, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCodecDecodeReply is what the server does per request apart
// from I/O and the Handler: decode, copy the strings out of the frame for
// the Handler (fast codec only; moov-io's strings are already copies), and
// encode the reply. The arena chunks detach fills show up in B/op but
// amount to one allocation per hundred or so requests.
func BenchmarkCodecDecodeReply(b *testing.B) {
	frame := mustPack(b, sampleRequest())
	p := replyParts{mti: "0110", code: "00", resp: Response{Code: "00", AuthCode: "A12345"}}
	for _, codec := range []string{CodecFast, CodecMoov} {
		b.Run("codec="+codec, func(b *testing.B) {
			srv := newCodecServer(b, codec)
			j := &job{frame: frame}
			b.ReportAllocs()
			for b.Loop() {
				srv.decodeJob(j)
				if srv.fast != nil {
					srv.detach(&j.d.req)
				}
				if _, err := srv.encodeReply(j, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkServerRoundTrip measures the whole server over loopback TCP: one
// connection, a client that pipelines up to window requests, a Handler that
// approves at once. It reports requests per second; on a small machine the
// client's own goroutines share the CPU with the server's.
func BenchmarkServerRoundTrip(b *testing.B) {
	for _, codec := range []string{CodecFast, CodecMoov} {
		b.Run("codec="+codec, func(b *testing.B) { benchRoundTrip(b, codec) })
	}
}

type approveFast struct{}

func (approveFast) HandleBatch(_ context.Context, reqs []*Request, out []Response) {
	for i := range reqs {
		out[i] = Response{Code: "00", AuthCode: "A12345"}
	}
}

func benchRoundTrip(b *testing.B, codec string) {
	const window = 512 // requests in flight, below MaxInFlightPerConn
	srv, err := NewServer(Config{Codec: codec, Logger: slog.New(slog.DiscardHandler)}, approveFast{})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = nc.Close() }()

	// The client writes pre-framed requests in batches and reads replies
	// with a FrameReader, so it costs little next to the server.
	msg := mustPack(b, sampleRequest())
	frame := make([]byte, 2+len(msg))
	Binary2.putHeader(frame, len(msg))
	copy(frame[2:], msg)
	const batch = 64
	batchBuf := make([]byte, 0, batch*len(frame))
	for range batch {
		batchBuf = append(batchBuf, frame...)
	}

	credits := make(chan int, window/batch)
	for range window / batch {
		credits <- batch
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	cpu0 := processCPU()
	var wg sync.WaitGroup
	wg.Add(1)
	readErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		fr := NewFrameReader(nc, Binary2, 0)
		got := 0
		for i := 0; i < b.N; i++ {
			if _, err := fr.Next(); err != nil {
				readErr <- err
				return
			}
			if got++; got == batch {
				credits <- got
				got = 0
			}
		}
	}()
	for sent := 0; sent < b.N; {
		n := min(<-credits, b.N-sent)
		if _, err := nc.Write(batchBuf[:n*len(frame)]); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	select {
	case err := <-readErr:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	// CPU time of the whole process (server and client) per request:
	// steadier than wall time on a shared machine.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/req")
}
