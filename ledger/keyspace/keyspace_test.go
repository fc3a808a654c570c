package keyspace

import "testing"

func TestAppendFollowUpKeyIsFollowUpKey(t *testing.T) {
	for _, ms := range []int64{0, 1, 1763700000000, 9999999999999, 12345678901234, -1, -1763700000000} {
		for _, rk := range []string{"", "mc000123|000000000123", "mr|"} {
			want := string(FollowUpKey(ms, rk))
			if got := string(AppendFollowUpKey([]byte("x"), ms, []byte(rk))); got != "x"+want {
				t.Errorf("AppendFollowUpKey(%d, %q) = %q, want %q", ms, rk, got[1:], want)
			}
		}
	}
}
