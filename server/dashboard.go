package server

import (
	"strings"

	"github.com/ledgersim/ledgersim/apikey"
	"github.com/ledgersim/ledgersim/dashboard"
)

// mountDashboard puts the web dashboard in front of the API's handler: it
// answers "/" and /dashboard/..., the API everything else. Its counters
// take the same keys the API does.
func (s *Server) mountDashboard(keyHash []byte) error {
	l := s.ledger
	d, err := dashboard.New(dashboard.Config{Store: s.db, Events: l, Logger: s.log, Authorize: func(key string) dashboard.Access {
		if strings.HasPrefix(key, apikey.PrefixAgentToken) {
			if _, ok := l.AuthenticateToken(key); ok {
				return dashboard.Agent
			}
			return dashboard.Denied
		}
		if apikey.Equal(apikey.Hash(key), keyHash) {
			return dashboard.Admin
		}
		return dashboard.Denied
	}})
	if err != nil {
		return err
	}
	s.http.Handler = d.Handler(s.http.Handler)
	return nil
}
