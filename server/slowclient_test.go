package server_test

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/server"
)

// TestSlowClientsDoNotHoldUpOthers opens two hostile connections, one that
// sends a frame a byte at a time and one that pipelines thousands of
// requests and never reads a reply, and checks that other clients are
// served in full meanwhile. The per-call deadline is a guard against a
// server that blocks them, far above the milliseconds a reply takes.
func TestSlowClientsDoNotHoldUpOthers(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, _ := e.Funded("slow@example.com", 1_000_000)
	card := e.RawCard(agentID, nil)
	addr := e.Server.ISOAddr()

	// The dribbler: a valid 0800 whose bytes arrive 50 ms apart.
	echo, err := iso.PackRequest(&iso.Request{MTI: "0800", TransmissionDateTime: "1121101500", STAN: "000001", NetworkCode: "301"})
	require.NoError(t, err)
	dribble, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer dribble.Close()
	frame := append([]byte{byte(len(echo) >> 8), byte(len(echo))}, echo...)
	stopDribble := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, b := range frame {
			select {
			case <-stopDribble:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := dribble.Write([]byte{b}); err != nil {
				return
			}
		}
	}()

	// The non-reader: a tiny receive buffer, thousands of pipelined
	// requests, and no reads, so the server's writes to it block.
	deaf, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer deaf.Close()
	require.NoError(t, deaf.(*net.TCPConn).SetReadBuffer(4096))
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20000; i++ {
			raw, err := iso.PackRequest(&iso.Request{MTI: "0800", TransmissionDateTime: "1121101500", STAN: fmt.Sprintf("%06d", i%1000000), NetworkCode: "301"})
			if err != nil {
				return
			}
			_ = deaf.SetWriteDeadline(time.Now().Add(20 * time.Second))
			if iso.WriteFrame(deaf, iso.Binary2, raw) != nil {
				return // the server stopped reading it: that is the point
			}
		}
	}()

	// Meanwhile, well-behaved clients are answered, every one of them.
	var clients sync.WaitGroup
	errs := make(chan error, 4)
	for c := 0; c < 4; c++ {
		clients.Add(1)
		go func(c int) {
			defer clients.Done()
			cl, err := testenv.DialISO(addr)
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			for i := 0; i < 50; i++ {
				rep, err := cl.Call(testenv.AuthRequest(card, cl.NextSTAN(), fmt.Sprintf("%02d%010d", c, i), 100, "MID000000000001", "CAFE"), 5*time.Second)
				if err != nil {
					errs <- fmt.Errorf("client %d request %d: %w", c, i, err)
					return
				}
				if rep.Code != "00" {
					errs <- fmt.Errorf("client %d request %d: code %s", c, i, rep.Code)
					return
				}
			}
		}(c)
	}
	clients.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	close(stopDribble)
	_ = deaf.Close()
	_ = dribble.Close()
	wg.Wait()
	b := e.Must(200, "GET", "/v1/balances/"+card.UserID, nil)
	require.EqualValues(t, 200*100, b.Num("pending"), "all 200 authorizations held funds")
}
