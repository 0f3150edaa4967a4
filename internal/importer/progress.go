package importer

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress reports a phase's rows done. On a terminal it redraws one bar
// with rate and ETA; otherwise (a log, a pipe) it writes a plain line per
// finished batch:
//
//	import: users 4000/10000 (40%), 2150/s, ETA 3s
type progress struct {
	w        io.Writer
	terminal bool
	now      func() time.Time

	mu      sync.Mutex
	phase   string
	total   int
	done    int
	resumed int // rows done before this run started, not part of the rate
	start   time.Time
}

func (p *progress) begin(phase string, total, resumed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.total, p.done, p.resumed, p.start = phase, total, resumed, resumed, p.now()
	if resumed > 0 {
		fmt.Fprintf(p.w, "import: %s: %d of %d already done by an earlier run (state file)\n", phase, resumed, total)
	}
}

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	elapsed := p.now().Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.done-p.resumed) / elapsed
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(p.total-p.done) / rate * float64(time.Second))).Round(time.Second).String()
	}
	pct := 100
	if p.total > 0 {
		pct = p.done * 100 / p.total
	}
	if !p.terminal {
		fmt.Fprintf(p.w, "import: %s %d/%d (%d%%), %.0f/s, ETA %s\n", p.phase, p.done, p.total, pct, rate, eta)
		return
	}
	const width = 30
	bar := strings.Repeat("#", pct*width/100) + strings.Repeat("-", width-pct*width/100)
	fmt.Fprintf(p.w, "\r%-13s [%s] %3d%% %d/%d  %.0f/s  ETA %-8s", p.phase, bar, pct, p.done, p.total, rate, eta)
	if p.done >= p.total {
		fmt.Fprintln(p.w)
	}
}

// notice writes a line about a wait or retry, on its own line even
// during a bar.
func (p *progress) notice(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintln(p.w, "import: "+s)
}
