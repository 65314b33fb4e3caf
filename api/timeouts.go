package api

import (
	"log/slog"
	"net/http"
)

// httpServer returns the http.Server that Run serves with: the server's
// routes and the timeouts of its Limits. The write timeout bounds every
// response; the live stream, which holds its connection open, sets a new
// write deadline before each of its writes (http.ResponseController), so
// the timeout ends a stream only when its client stops reading.
func (s *Server) httpServer() *http.Server {
	return &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		ReadTimeout:       s.limits.ReadTimeout,
		WriteTimeout:      s.limits.WriteTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
}
