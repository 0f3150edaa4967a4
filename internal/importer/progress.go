package importer

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress reports a phase's rows done. On a terminal it redraws one bar
// with rate and ETA as batches finish; otherwise (a log, a pipe) it writes
// a plain line per finished batch (a batch is up to 1,000 rows, so a
// million users log a thousand lines; process tests pace on these lines):
//
//	import: users 4000/10000 (40%), 2150/s, ETA 3s
//
// What a line says is worked out by the pure functions plainLine and
// barLine, from a progressState.
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

// barWidth is the bar's width in characters.
const barWidth = 30

// progressState is a phase's progress at one moment.
type progressState struct {
	Phase   string
	Done    int
	Total   int
	Resumed int           // of Done, rows an earlier run wrote
	Elapsed time.Duration // since this run started the phase
}

// rate is the rows per second this run has written.
func (s progressState) rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Done-s.Resumed) / s.Elapsed.Seconds()
}

// eta is the time left at the current rate, "?" before there is a rate.
func (s progressState) eta() string {
	r := s.rate()
	if r <= 0 {
		return "?"
	}
	return time.Duration(float64(s.Total-s.Done) / r * float64(time.Second)).Round(time.Second).String()
}

func (s progressState) percent() int {
	if s.Total <= 0 {
		return 100
	}
	return s.Done * 100 / s.Total
}

// plainLine is a progress line for a log.
func plainLine(s progressState) string {
	return fmt.Sprintf("import: %s %d/%d (%d%%), %.0f/s, ETA %s\n", s.Phase, s.Done, s.Total, s.percent(), s.rate(), s.eta())
}

// barLine redraws the terminal's progress bar in place (a carriage return
// first), ending the line when the phase is done.
func barLine(s progressState) string {
	pct := s.percent()
	fill := min(pct, 100) * barWidth / 100
	bar := strings.Repeat("#", fill) + strings.Repeat("-", barWidth-fill)
	line := fmt.Sprintf("\r%-13s [%s] %3d%% %d/%d  %.0f/s  ETA %-8s", s.Phase, bar, pct, s.Done, s.Total, s.rate(), s.eta())
	if s.Done >= s.Total {
		line += "\n"
	}
	return line
}

func (p *progress) begin(phase string, total, resumed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.total, p.done, p.resumed = phase, total, resumed, resumed
	p.start = p.now()
	if resumed > 0 {
		fmt.Fprintf(p.w, "import: %s: %d of %d already done by an earlier run (state file)\n", phase, resumed, total)
	}
}

// add counts n more rows done and shows the progress.
func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	s := progressState{Phase: p.phase, Done: p.done, Total: p.total, Resumed: p.resumed, Elapsed: p.now().Sub(p.start)}
	if p.terminal {
		fmt.Fprint(p.w, barLine(s))
		return
	}
	fmt.Fprint(p.w, plainLine(s))
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
