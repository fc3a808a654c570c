package main

import (
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServeDebug(t *testing.T) {
	addr, stop, err := serveDebug("127.0.0.1:0", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer stop()
	tests := []struct {
		path string
		want int
	}{
		{"/debug/pprof/", http.StatusOK},
		{"/debug/pprof/goroutine?debug=1", http.StatusOK},
		{"/metrics", http.StatusNotFound}, // its own mux: nothing else is served
		{"/v1/users", http.StatusNotFound},
	}
	for _, tt := range tests {
		resp, err := http.Get("http://" + addr + tt.path)
		require.NoError(t, err, tt.path)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		assert.Equal(t, tt.want, resp.StatusCode, tt.path)
	}
	stop()
	_, err = http.Get("http://" + addr + "/debug/pprof/")
	assert.Error(t, err, "the profiler stops with the server")
}
