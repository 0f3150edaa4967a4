package importer

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// clock is a settable clock for progress tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// TestProgressPlainLines: without a terminal, every finished batch
// writes one line with the count, percentage, rate and ETA, each on its
// own line (no carriage returns or escapes in a log).
func TestProgressPlainLines(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	p := &progress{w: &out, now: c.now}
	p.begin("users", 10000, 0)
	if out.Len() != 0 {
		t.Fatalf("a line before any batch: %q", out.String())
	}
	c.advance(2 * time.Second)
	p.add(1000)
	c.advance(2 * time.Second)
	p.add(3000)
	c.advance(6 * time.Second)
	p.add(6000)
	want := "import: users 1000/10000 (10%), 500/s, ETA 18s\n" +
		"import: users 4000/10000 (40%), 1000/s, ETA 6s\n" +
		"import: users 10000/10000 (100%), 1000/s, ETA 0s\n"
	if out.String() != want {
		t.Fatalf("plain lines:\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	p.notice("rate limited by the server; waiting 2s (Retry-After)")
	if want := "import: rate limited by the server; waiting 2s (Retry-After)\n"; out.String() != want {
		t.Fatalf("notice: %q, want %q", out.String(), want)
	}
}

// TestProgressResumedRowsAreNotInTheRate: rows an earlier run wrote count
// towards done but not towards this run's rate (and so the ETA).
func TestProgressResumedRowsAreNotInTheRate(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	p := &progress{w: &out, now: c.now}
	p.begin("users", 10000, 6000)
	if want := "import: users: 6000 of 10000 already done by an earlier run (state file)\n"; out.String() != want {
		t.Fatalf("resume line %q, want %q", out.String(), want)
	}
	out.Reset()
	c.advance(10 * time.Second)
	p.add(2000)
	if want := "import: users 8000/10000 (80%), 200/s, ETA 10s\n"; out.String() != want {
		t.Fatalf("%q, want %q", out.String(), want)
	}
}

// TestProgressTerminalBar: on a terminal each batch redraws one bar in
// place, and the finished phase ends the line.
func TestProgressTerminalBar(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	p := &progress{w: &out, terminal: true, now: c.now}
	p.begin("users", 4000, 0)
	c.advance(2 * time.Second)
	p.add(1000)
	want := "\rusers         [#######-----------------------]  25% 1000/4000  500/s  ETA 6s      "
	if out.String() != want {
		t.Fatalf("bar after one batch:\n%q\nwant\n%q", out.String(), want)
	}
	out.Reset()
	p.notice("rate limited by the server; waiting 1s (Retry-After)")
	if want := "\r\033[Kimport: rate limited by the server; waiting 1s (Retry-After)\n"; out.String() != want {
		t.Fatalf("notice during a bar: %q, want %q", out.String(), want)
	}
	out.Reset()
	for range 3 {
		c.advance(time.Second)
		p.add(1000)
	}
	lines := strings.Split(out.String(), "\r")[1:]
	if len(lines) != 3 {
		t.Fatalf("want one redraw per batch, got %q", out.String())
	}
	if want := "users         [" + strings.Repeat("#", barWidth) + "] 100% 4000/4000  800/s  ETA 0s      \n"; lines[2] != want {
		t.Fatalf("finished bar %q, want %q", lines[2], want)
	}
	if strings.Contains(lines[0], "\n") || strings.Contains(lines[1], "\n") {
		t.Fatalf("an unfinished bar ended its line: %q", out.String())
	}
}

// TestProgressLinesBeforeARate: with no time elapsed there is no rate, and
// the ETA says so rather than dividing by zero.
func TestProgressLinesBeforeARate(t *testing.T) {
	s := progressState{Phase: "users", Done: 0, Total: 100}
	if got, want := plainLine(s), "import: users 0/100 (0%), 0/s, ETA ?\n"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if got := barLine(progressState{Phase: "users", Total: 0}); !strings.Contains(got, "100%") || !strings.HasSuffix(got, "\n") {
		t.Fatalf("an empty phase is done: %q", got)
	}
}
