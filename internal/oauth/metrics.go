package oauth

import (
	"net/http"
)

// statusRecorder remembers the status a token response was written with,
// for the grant counter.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// countGrant wraps a token endpoint response so that, once answered, it is
// counted by grant type and outcome.
func (s *Server) countGrant(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, func()) {
	if s.Metrics == nil {
		return w, func() {}
	}
	rec := &statusRecorder{ResponseWriter: w}
	return rec, func() {
		gt := ""
		if r.PostForm != nil {
			gt = r.PostForm.Get("grant_type")
		}
		s.Metrics.Grant(gt, rec.status)
	}
}
